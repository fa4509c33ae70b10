#pragma once

#include <string>
#include <vector>

#include "jit/base/status.h"
#include "jit/policy/policy.h"

namespace jit {

// Pure helpers behind `jit policy lint|test|explain`. They read only the
// files named in their arguments, never the clock, and are thread-safe.

// Loads the config at `path` and summarises its policy part:
//   "ok: 3 entitlements, 2 policies"
// followed by one "warning: ..." line for each entitlement no policy lists.
// Errors: the "FILE:LINE: reason" of PolicySet::LoadFile.
StatusOr<std::string> LintPolicyFile(const std::string& path);

struct PolicyTestResult {
  int passed = 0;
  int failed = 0;
  // One line per failed case: its name, file:line, what differed.
  std::vector<std::string> failures;
};

// Runs the cases in the YAML file `cases_path` against `policies`:
//   cases:
//     - name: dev may read prod briefly
//       subject: {name: alice, groups: [dev]}      # also person: optional,
//                                                  # machine: true (a token)
//       entitlement: prod-db-read
//       duration: 15m
//       justification: "investigating OPS-12"     # optional
//       ticket: OPS-12                             # optional
//       emergency: false                           # optional
//       start_at: "2026-11-24T08:00:00Z"           # optional
//       mfa: true        # optional: the ask shows a recent second factor
//       at: "2026-11-23T10:00:00Z"  # optional; default Mon 2026-11-23 12:00Z
//       expect: {allow: true, auto: false, approvals: 1, policy: dev-read}
//       # or:   {allow: false, reason_contains: "exceeds"}
// A case that does not get what it expects counts as failed (still OK).
// Errors: kInvalidArgument "FILE:LINE: reason" for an unreadable or
// malformed file (unknown keys, wrong types, no cases, `auto`/`approvals`/
// `policy` with allow: false, `reason_contains` with allow: true).
StatusOr<PolicyTestResult> RunPolicyTests(const PolicySet& policies,
                                          const std::string& cases_path);

// The default evaluation time of a test case: Monday 2026-11-23 12:00 UTC.
SystemTime DefaultPolicyTestTime();

// Human text of a decision, one fact per line: "allowed by policy X" or
// "denied", then approvals, second-factor rules, limits, notify list, and
// each reason on its own line ("reason: ...").
std::string ExplainDecision(const Decision& decision);

}  // namespace jit
