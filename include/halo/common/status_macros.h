// RETURN_IF_ERROR / ASSIGN_OR_RETURN: propagate an absl::Status without
// exceptions, as every module boundary in halo does.
#ifndef HALO_COMMON_STATUS_MACROS_H_
#define HALO_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define HALO_CONCAT_INNER_(a, b) a##b
#define HALO_CONCAT_(a, b) HALO_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    if (::absl::Status halo_status_ = (expr);          \
        !halo_status_.ok()) {                          \
      return halo_status_;                             \
    }                                                  \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr) \
  HALO_ASSIGN_OR_RETURN_IMPL_(HALO_CONCAT_(halo_statusor_, __LINE__), lhs, expr)

#define HALO_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // HALO_COMMON_STATUS_MACROS_H_
