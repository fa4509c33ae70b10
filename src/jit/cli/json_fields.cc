#include "jit/cli/json_fields.h"

namespace jit {
namespace {

const Json* Field(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(std::string(key));
  return it == object.end() ? nullptr : &*it;
}

}  // namespace

StatusOr<Json> ParseJson(std::string_view text) {
  Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return InvalidArgumentError("server answered with text that is not JSON");
  }
  return value;
}

std::string JsonText(const Json& object, std::string_view key) {
  const Json* field = Field(object, key);
  if (field == nullptr || field->is_null()) return "";
  if (field->is_string()) return field->get<std::string>();
  return field->dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::optional<int64_t> JsonInt(const Json& object, std::string_view key) {
  const Json* field = Field(object, key);
  if (field == nullptr || !field->is_number_integer()) return std::nullopt;
  return field->get<int64_t>();
}

bool JsonBool(const Json& object, std::string_view key) {
  const Json* field = Field(object, key);
  return field != nullptr && field->is_boolean() && field->get<bool>();
}

const Json& JsonArray(const Json& object, std::string_view key) {
  static const Json kEmpty = Json::array();
  const Json* field = Field(object, key);
  if (field == nullptr || !field->is_array()) return kEmpty;
  return *field;
}

void WriteJson(std::ostream& out, const Json& value, int indent) {
  out << value.dump(indent, ' ', /*ensure_ascii=*/true,
                    Json::error_handler_t::replace)
      << '\n';
}

}  // namespace jit
