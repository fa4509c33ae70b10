#pragma once

#include "jit/base/status.h"

#define JIT_CONCAT_INNER_(a, b) a##b
#define JIT_CONCAT_(a, b) JIT_CONCAT_INNER_(a, b)

// Returns `expr` from the calling function if it is not OK.
#define JIT_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::jit::Status jit_status_ = (expr);        \
    if (!jit_status_.ok()) return jit_status_; \
  } while (0)

// `lhs = value of expr`, or returns its Status from the calling function.
#define JIT_ASSIGN_OR_RETURN(lhs, expr) \
  JIT_ASSIGN_OR_RETURN_IMPL_(JIT_CONCAT_(jit_statusor_, __LINE__), lhs, expr)
#define JIT_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
