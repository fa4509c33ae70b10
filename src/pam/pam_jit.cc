// pam_jit.so: a PAM account module that lets an account through only while
// jitd says it holds an active grant on one connector. It asks jitd's local
// enforcement socket (see check_client.h) and fails closed: no clear "yes"
// within the time budget is a "no" (THREATS T24).
//
//   account required pam_jit.so socket=/run/jitd/check.sock connector=sudo
//                                timeout_ms=1500
//
// Only the account entry point exists; PAM reports the others as missing.

#define PAM_SM_ACCOUNT
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <syslog.h>

#include <exception>

#include "pam/check_client.h"
#include "pam/pam_args.h"

namespace {

using jit::pam::AskJitd;
using jit::pam::CheckOutcome;
using jit::pam::CheckQuery;
using jit::pam::ParsedArgs;
using jit::pam::ParsePamArgs;
using jit::pam::Verdict;

int CheckAccount(pam_handle_t* pamh, int argc, const char** argv) {
  ParsedArgs parsed = ParsePamArgs(argc, argv);
  if (!parsed.args) {
    pam_syslog(pamh, LOG_ERR, "denied: bad module arguments: %s",
               parsed.error.c_str());
    return PAM_PERM_DENIED;
  }
  const char* user = nullptr;
  if (pam_get_user(pamh, &user, nullptr) != PAM_SUCCESS || user == nullptr ||
      *user == '\0') {
    pam_syslog(pamh, LOG_ERR, "denied: no user name");
    return PAM_PERM_DENIED;
  }
  CheckQuery query{parsed.args->socket, parsed.args->connector, user,
                   parsed.args->timeout};
  CheckOutcome out = AskJitd(query);
  if (out.verdict == Verdict::kAllowed) {
    pam_syslog(pamh, LOG_INFO,
               "allowed user=%s connector=%s grant_id=%s expires_at=%s", user,
               query.connector.c_str(), out.grant_id.c_str(),
               out.expires_at.c_str());
    return PAM_SUCCESS;
  }
  pam_syslog(pamh, LOG_NOTICE, "denied user=%s connector=%s: %s", user,
             query.connector.c_str(), out.reason.c_str());
  return PAM_PERM_DENIED;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int pam_sm_acct_mgmt(
    pam_handle_t* pamh, int /*flags*/, int argc, const char** argv) {
  // A C caller cannot take an exception; any failure is a denial.
  try {
    return CheckAccount(pamh, argc, argv);
  } catch (const std::exception&) {
    pam_syslog(pamh, LOG_ERR, "denied: internal error");
  } catch (...) {
    pam_syslog(pamh, LOG_ERR, "denied: internal error");
  }
  return PAM_PERM_DENIED;
}
