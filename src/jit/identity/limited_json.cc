#include "jit/identity/limited_json.h"

#include <string>

namespace jit {

StatusOr<nlohmann::json> ParseJsonObject(std::string_view text, int max_depth,
                                         std::string_view what) {
  using nlohmann::json;
  bool too_deep = false;
  // nlohmann's parser keeps its own stack (no recursion), so deep input
  // cannot overflow ours; values past the limit are dropped and flagged.
  json::parser_callback_t limit = [&](int depth, json::parse_event_t event,
                                      json&) {
    if (depth >= max_depth && (event == json::parse_event_t::object_start ||
                               event == json::parse_event_t::array_start)) {
      too_deep = true;
      return false;
    }
    return true;
  };
  json doc = json::parse(text.begin(), text.end(), limit,
                         /*allow_exceptions=*/false);
  if (too_deep) {
    return InvalidArgumentError(std::string(what) + " nested deeper than " +
                                std::to_string(max_depth) + " levels");
  }
  if (doc.is_discarded()) {
    return InvalidArgumentError(std::string(what) + " is not JSON");
  }
  if (!doc.is_object()) {
    return InvalidArgumentError(std::string(what) + " is not a JSON object");
  }
  return doc;
}

}  // namespace jit
