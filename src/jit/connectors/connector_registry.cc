// ConnectorRegistry and Connector's optional parts, declared in connector.h.
#include <fmt/format.h>

#include <cassert>
#include <utility>

#include "jit/connectors/connector.h"

namespace jit {

StatusOr<std::vector<Holding>> Connector::Discover(Deadline) {
  return FailedPreconditionError("this connector cannot list holders",
                                 "unsupported");
}

bool Connector::Covers(const GrantSpec&, const Holding&) const { return false; }

Status Connector::RevokeHolding(const Holding&, Deadline) {
  return FailedPreconditionError(
      "this connector cannot revoke standing privileges", "unsupported");
}

StatusOr<std::vector<Activity>> Connector::ActivitySince(const GrantSpec&,
                                                         SystemTime, Deadline) {
  return std::vector<Activity>{};
}

void ConnectorRegistry::Add(std::string type, ConnectorFactory factory) {
  assert(factory && "ConnectorRegistry::Add needs a factory");
  factories_[std::move(type)] = std::move(factory);
}

StatusOr<std::unique_ptr<Connector>> ConnectorRegistry::Make(
    const ConnectorConfig& config, const Environment& env) const {
  auto it = factories_.find(config.type);
  if (it == factories_.end()) {
    std::string where = config.origin.empty() ? "" : config.origin + ": ";
    return InvalidArgumentError(
        fmt::format("{}unknown connector type \"{}\" (known: {})", where,
                    config.type, fmt::join(Types(), ", ")));
  }
  StatusOr<std::unique_ptr<Connector>> made = it->second(config, env);
  if (made.ok() && *made == nullptr) {
    return InternalError("factory for connector type \"" + config.type +
                         "\" returned nothing");
  }
  return made;
}

std::vector<std::string> ConnectorRegistry::Types() const {
  std::vector<std::string> types;
  types.reserve(factories_.size());
  for (const auto& [type, factory] : factories_) types.push_back(type);
  return types;
}

}  // namespace jit
