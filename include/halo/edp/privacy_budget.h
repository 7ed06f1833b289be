// The EDP's privacy budget, as the reference's privacy budget manager keeps
// it: every requisition charges each privacy bucket its data could touch,
// and a requisition whose charges would take any bucket past the budget is
// refused before anything is computed.
//
// A bucket is (measurement consumer, UTC day, age group, gender, VID slice):
// age groups 18-34 (with anyone younger, so that nobody is outside every
// bucket), 35-54 and 55+; genders F and M (with every other value); and 300
// slices of the VID order of vid_sampling.h. A requisition charges every day
// its collection intervals overlap, every demographic cell its relaxed
// filter can match (EventFilter::Relaxed), and every slice its sampling
// interval touches, wrapped part and first slice included (the reference
// forgets both). Charges compose by ACDP (halo/dp/privacy_accounting.h).
//
// Charging is idempotent: a charge is kept per (measurement consumer,
// requisition) in the same transaction as the bucket totals, so a retried
// requisition, or one retried after the agent was killed between charge and
// fulfilment, is charged once. A refusal after the charge gives it back only
// while nothing derived from the data has left the agent.
#ifndef HALO_EDP_PRIVACY_BUDGET_H_
#define HALO_EDP_PRIVACY_BUDGET_H_

#include <compare>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "halo/dp/privacy_accounting.h"
#include "halo/edp/event_selection.h"
#include "halo/sketch/vid_sampling.h"

namespace halo::storage {
class SqliteDatabase;
}

namespace halo::edp {

inline constexpr int kVidSlices = 300;
inline constexpr int kAgeGroups = 3;
inline constexpr int kGenders = 2;
// Days one event group entry of a requisition may span.
inline constexpr int64_t kMaxChargedDays = 366;

struct PrivacyCell {
  int64_t day = 0;  // UTC days since 1970-01-01
  int age_group = 0;  // 0: up to 34, 1: 35-54, 2: 55+
  int gender = 0;     // 0: F, 1: M and others
  auto operator<=>(const PrivacyCell&) const = default;
};

struct PrivacyBuckets {
  std::string measurement_consumer;
  std::vector<PrivacyCell> cells;  // sorted, distinct
  std::vector<int> slices;         // sorted, distinct
  size_t size() const { return cells.size() * slices.size(); }
};

// The template fields that say who a person is; empty: unknown.
struct DemographicFields {
  std::string age;
  std::string gender;
};

// The buckets a requisition's selections and sample touch. Refuses, with
// INVALID_ARGUMENT, an interval that spans more than kMaxChargedDays.
absl::StatusOr<PrivacyBuckets> BucketsOf(const std::string& measurement_consumer,
                                         absl::Span<const EventGroupSelection> selections,
                                         const sketch::VidSampler& sampler, const DemographicFields& fields);

class PrivacyBudgetLedger {
 public:
  // Opens (creating) the ledger at `path`; `budget` is each bucket's.
  static absl::StatusOr<std::unique_ptr<PrivacyBudgetLedger>> Open(const std::string& path, dp::PrivacyBudget budget);
  ~PrivacyBudgetLedger();

  // Charges `charge` to every bucket, once per requisition: a second call
  // for a charged requisition changes nothing. RESOURCE_EXHAUSTED, naming
  // the first bucket that would pass the budget, charges nothing.
  absl::Status Charge(const std::string& requisition, const PrivacyBuckets& buckets, const dp::AcdpCharge& charge);
  // From now on the requisition's charge is never given back: something
  // derived from the data may have left the agent.
  absl::Status MarkReleased(const std::string& measurement_consumer, const std::string& requisition);
  // Gives back the requisition's charge if it has one, unreleased and not
  // given back before; whether it did.
  absl::StatusOr<bool> Refund(const std::string& measurement_consumer, const std::string& requisition);

  // What each charged bucket has used and has left, by measurement
  // consumer, cell and slice; neighbouring slices of a cell with the same
  // totals form one row.
  struct BucketUse {
    std::string measurement_consumer;
    PrivacyCell cell;
    int first_slice = 0, last_slice = 0;
    dp::AcdpCharge used;
    double delta = 0;     // of `used` at the budget's epsilon
    double rho_left = 0;  // before delta passes the budget's
  };
  absl::StatusOr<std::vector<BucketUse>> Usage();
  const dp::PrivacyBudget& budget() const { return budget_; }

 private:
  PrivacyBudgetLedger(std::unique_ptr<storage::SqliteDatabase> db, dp::PrivacyBudget budget);
  absl::Status AddToBuckets(const PrivacyBuckets& buckets, const dp::AcdpCharge& charge, bool check);

  std::unique_ptr<storage::SqliteDatabase> db_;
  dp::PrivacyBudget budget_;
};

// Age group and gender names, for reports.
const char* AgeGroupName(int age_group);
const char* GenderName(int gender);

}  // namespace halo::edp

#endif  // HALO_EDP_PRIVACY_BUDGET_H_
