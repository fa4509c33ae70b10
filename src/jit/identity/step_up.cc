#include "jit/identity/step_up.h"

#include <algorithm>

namespace jit {
namespace {

bool Contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

bool NamesSecondFactor(const SignInFacts& facts, const MfaOptions& options) {
  bool by_amr = std::any_of(
      facts.amr.begin(), facts.amr.end(),
      [&](const auto& method) { return Contains(options.amr_values, method); });
  bool by_acr = !facts.acr.empty() && Contains(options.acr_values, facts.acr);
  return by_amr || by_acr;
}

}  // namespace

bool ShowsRecentSecondFactor(const SignInFacts& facts,
                             const MfaOptions& options, SystemTime now) {
  if (!facts.auth_time.has_value() || !NamesSecondFactor(facts, options))
    return false;
  SystemTime at = *facts.auth_time;
  if (at > now + options.leeway) return false;
  return now - at <= options.max_age;
}

}  // namespace jit
