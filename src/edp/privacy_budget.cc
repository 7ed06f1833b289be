#include "halo/edp/privacy_budget.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "halo/common/status_macros.h"
#include "halo/storage/sqlite_database.h"

namespace halo::edp {
namespace {

constexpr int64_t kMicrosPerDay = int64_t{86400} * 1000000;
// Ages the relaxed filter is tried at; above the last, people are 55+ too.
constexpr int kOldestAge = 150;

// Whole years: 34.9 is still 34.
int AgeGroupOf(double age) { return age < 35 ? 0 : age < 55 ? 1 : 2; }

int64_t DayOf(int64_t micros) {
  return micros >= 0 ? micros / kMicrosPerDay : -((-micros + kMicrosPerDay - 1) / kMicrosPerDay);
}

// Ages to try a relaxed filter at: every whole age, every number the filter
// names and points just beside each, and points beyond them all. What a
// filter over one number matches changes only at the numbers it names, so
// these meet every stretch of ages it can match.
std::vector<double> CandidateAges(const std::vector<double>& literals) {
  std::vector<double> ages;
  for (int age = 0; age <= kOldestAge; ++age) ages.push_back(age);
  double low = 0, high = kOldestAge;
  for (double v : literals) {
    const double step = 1e-9 * (std::abs(v) + 1);
    for (double a : {v - step, v, v + step}) ages.push_back(a);
    low = std::min(low, v);
    high = std::max(high, v);
  }
  ages.push_back(low - 1);
  ages.push_back(high + 1);
  return ages;
}

// The demographic cells (age group, gender) a selection's filter can match.
std::set<std::pair<int, int>> CellsOf(const EventFilter& filter, const DemographicFields& fields) {
  std::set<std::pair<int, int>> all;
  for (int a = 0; a < kAgeGroups; ++a) {
    for (int g = 0; g < kGenders; ++g) all.insert({a, g});
  }
  if (fields.age.empty() || fields.gender.empty()) return all;
  const EventSchema schema({{fields.age, FieldType::kDouble}, {fields.gender, FieldType::kString}});
  // A filter that reads these fields as other types than a number and a
  // string cannot be narrowed: it charges every cell.
  absl::StatusOr<BoundEventFilter> bound = filter.Relaxed({fields.age, fields.gender}).Bind(schema);
  if (!bound.ok()) return all;
  // Every gender the filter names, and F, M and one that is neither.
  const EventFilter::Literals literals = filter.LiteralValues();
  std::vector<std::string> genders = {"F", "M", "\x01other"};
  genders.insert(genders.end(), literals.strings.begin(), literals.strings.end());
  const std::vector<double> ages = CandidateAges(literals.numbers);
  EventBatch batch;
  batch.Clear(2);
  batch.event_groups.dictionary = {""};
  batch.columns[1].strings.dictionary = genders;
  for (double age : ages) {
    for (uint32_t g = 0; g < genders.size(); ++g) {
      batch.vids.push_back(0);
      batch.event_groups.ids.push_back(0);
      batch.timestamps_micros.push_back(0);
      batch.columns[0].doubles.push_back(age);
      batch.columns[1].strings.ids.push_back(g);
    }
  }
  std::vector<uint8_t> keep;
  bound->Evaluate(batch, keep);
  std::set<std::pair<int, int>> cells;
  for (size_t i = 0; i < keep.size(); ++i) {
    if (!keep[i]) continue;
    const double age = batch.columns[0].doubles[i];
    cells.insert({AgeGroupOf(age), genders[batch.columns[1].strings.ids[i]] == "F" ? 0 : 1});
  }
  return cells;
}

// The slices of the VID order the sample's positions touch.
std::vector<int> SlicesOf(const sketch::VidSampler& sampler) {
  const uint64_t n = sampler.order().population_size();
  if (sampler.slots() >= n) {
    std::vector<int> all(kVidSlices);
    for (int s = 0; s < kVidSlices; ++s) all[s] = s;
    return all;
  }
  const auto slice = [n](uint64_t position) {
    return static_cast<int>(static_cast<unsigned __int128>(position) * kVidSlices / n);
  };
  const uint64_t first = sampler.first_position(), last = first + sampler.slots() - 1;
  std::set<int> slices;
  const auto add = [&](uint64_t from, uint64_t to) {
    for (int s = slice(from); s <= slice(to); ++s) slices.insert(s);
  };
  if (last < n) {
    add(first, last);
  } else {
    add(first, n - 1);
    add(0, last - n);
  }
  return {slices.begin(), slices.end()};
}

std::string EncodeBuckets(const PrivacyBuckets& buckets) {
  std::vector<std::string> cells;
  for (const PrivacyCell& c : buckets.cells) cells.push_back(absl::StrCat(c.day, ":", c.age_group, ":", c.gender));
  return absl::StrCat(absl::StrJoin(cells, ";"), "|", absl::StrJoin(buckets.slices, ","));
}

absl::StatusOr<PrivacyBuckets> DecodeBuckets(const std::string& mc, const std::string& text) {
  PrivacyBuckets buckets;
  buckets.measurement_consumer = mc;
  const std::vector<std::string> parts = absl::StrSplit(text, '|');
  if (parts.size() != 2) return absl::DataLossError("a stored charge's buckets do not parse");
  for (absl::string_view cell : absl::StrSplit(parts[0], ';', absl::SkipEmpty())) {
    const std::vector<std::string> f = absl::StrSplit(cell, ':');
    PrivacyCell c;
    if (f.size() != 3 || !absl::SimpleAtoi(f[0], &c.day) || !absl::SimpleAtoi(f[1], &c.age_group) ||
        !absl::SimpleAtoi(f[2], &c.gender)) {
      return absl::DataLossError("a stored charge's cell does not parse");
    }
    buckets.cells.push_back(c);
  }
  for (absl::string_view s : absl::StrSplit(parts[1], ',', absl::SkipEmpty())) {
    int slice;
    if (!absl::SimpleAtoi(s, &slice)) return absl::DataLossError("a stored charge's slice does not parse");
    buckets.slices.push_back(slice);
  }
  return buckets;
}

const std::vector<storage::Migration>& Migrations() {
  static const auto* migrations = new std::vector<storage::Migration>{
      {1,
       "CREATE TABLE bucket_charges (consumer TEXT NOT NULL, day INTEGER NOT NULL, age_group INTEGER NOT NULL, "
       "gender INTEGER NOT NULL, slice INTEGER NOT NULL, rho REAL NOT NULL, theta REAL NOT NULL, "
       "PRIMARY KEY (consumer, day, age_group, gender, slice)) WITHOUT ROWID;"
       "CREATE TABLE requisition_charges (consumer TEXT NOT NULL, requisition TEXT NOT NULL, rho REAL NOT NULL, "
       "theta REAL NOT NULL, buckets TEXT NOT NULL, released INTEGER NOT NULL, refunded INTEGER NOT NULL, "
       "time_micros INTEGER NOT NULL, PRIMARY KEY (consumer, requisition));"}};
  return *migrations;
}

}  // namespace

const char* AgeGroupName(int age_group) {
  static const char* const kNames[] = {"18-34", "35-54", "55+"};
  return age_group >= 0 && age_group < kAgeGroups ? kNames[age_group] : "?";
}

const char* GenderName(int gender) { return gender == 0 ? "F" : "M"; }

absl::StatusOr<PrivacyBuckets> BucketsOf(const std::string& measurement_consumer,
                                         absl::Span<const EventGroupSelection> selections,
                                         const sketch::VidSampler& sampler, const DemographicFields& fields) {
  std::set<PrivacyCell> cells;
  for (const EventGroupSelection& selection : selections) {
    if (selection.end_micros <= selection.start_micros) continue;
    const int64_t first = DayOf(selection.start_micros), last = DayOf(selection.end_micros - 1);
    if (last - first + 1 > kMaxChargedDays) {
      return absl::InvalidArgumentError(absl::StrCat("event group ", selection.reference_id, ": the collection interval spans ",
                                                     last - first + 1, " days; at most ", kMaxChargedDays,
                                                     " are accepted in one requisition"));
    }
    const std::set<std::pair<int, int>> demographic = CellsOf(selection.filter, fields);
    for (int64_t day = first; day <= last; ++day) {
      for (const auto& [age, gender] : demographic) cells.insert({day, age, gender});
    }
  }
  return PrivacyBuckets{measurement_consumer, {cells.begin(), cells.end()}, SlicesOf(sampler)};
}

PrivacyBudgetLedger::PrivacyBudgetLedger(std::unique_ptr<storage::SqliteDatabase> db, dp::PrivacyBudget budget)
    : db_(std::move(db)), budget_(budget) {}
PrivacyBudgetLedger::~PrivacyBudgetLedger() = default;

absl::StatusOr<std::unique_ptr<PrivacyBudgetLedger>> PrivacyBudgetLedger::Open(const std::string& path,
                                                                               dp::PrivacyBudget budget) {
  if (!(budget.epsilon > 0) || !(budget.delta > 0 && budget.delta < 1)) {
    return absl::InvalidArgumentError(absl::StrCat("the privacy budget needs epsilon > 0 and delta in (0, 1), got ",
                                                   budget.epsilon, " and ", budget.delta));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<storage::SqliteDatabase> db, storage::SqliteDatabase::Open(path));
  RETURN_IF_ERROR(db->Migrate(Migrations()));
  return std::unique_ptr<PrivacyBudgetLedger>(new PrivacyBudgetLedger(std::move(db), budget));
}

absl::Status PrivacyBudgetLedger::AddToBuckets(const PrivacyBuckets& buckets, const dp::AcdpCharge& charge,
                                               bool check) {
  ASSIGN_OR_RETURN(storage::Statement read,
                   db_->Prepare("SELECT rho, theta FROM bucket_charges WHERE consumer = ? AND day = ? AND "
                                "age_group = ? AND gender = ? AND slice = ?"));
  ASSIGN_OR_RETURN(storage::Statement write,
                   db_->Prepare("INSERT OR REPLACE INTO bucket_charges VALUES (?, ?, ?, ?, ?, ?, ?)"));
  // Most buckets hold the same totals; each distinct total is checked once.
  std::map<std::pair<double, double>, bool> within;
  for (const PrivacyCell& cell : buckets.cells) {
    for (int slice : buckets.slices) {
      read.Reset();
      read.Bind(1, buckets.measurement_consumer).Bind(2, cell.day).Bind(3, cell.age_group).Bind(4, cell.gender).Bind(5, slice);
      ASSIGN_OR_RETURN(bool found, read.Step());
      dp::AcdpCharge total;
      if (found) {
        total = {read.ColumnDouble(0), read.ColumnDouble(1)};
      }
      total += charge;
      total.rho = std::max(0.0, total.rho);
      total.theta = std::max(0.0, total.theta);
      if (check) {
        auto [at, inserted] = within.try_emplace({total.rho, total.theta}, false);
        if (inserted) at->second = dp::AcdpDelta(total, budget_.epsilon) <= budget_.delta;
        if (!at->second) {
          return absl::ResourceExhaustedError(absl::StrCat(
              "privacy budget exceeded: the bucket of ", buckets.measurement_consumer, " on day ", cell.day,
              ", age ", AgeGroupName(cell.age_group), ", gender ", GenderName(cell.gender), ", VID slice ", slice,
              " would reach delta ", dp::AcdpDelta(total, budget_.epsilon), " at epsilon ", budget_.epsilon,
              ", above the budget's ", budget_.delta));
        }
      }
      write.Reset();
      write.Bind(1, buckets.measurement_consumer).Bind(2, cell.day).Bind(3, cell.age_group).Bind(4, cell.gender);
      write.Bind(5, slice).BindDouble(6, total.rho).BindDouble(7, total.theta);
      RETURN_IF_ERROR(write.Run());
    }
  }
  return absl::OkStatus();
}

absl::Status PrivacyBudgetLedger::Charge(const std::string& requisition, const PrivacyBuckets& buckets,
                                         const dp::AcdpCharge& charge) {
  return db_->Transaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_->Prepare("SELECT refunded FROM requisition_charges WHERE consumer = ? AND requisition = ?"));
    q.Bind(1, buckets.measurement_consumer).Bind(2, requisition);
    ASSIGN_OR_RETURN(bool found, q.Step());
    if (found && q.ColumnInt64(0) == 0) return absl::OkStatus();  // charged already
    RETURN_IF_ERROR(AddToBuckets(buckets, charge, true));
    ASSIGN_OR_RETURN(storage::Statement insert,
                     db_->Prepare("INSERT OR REPLACE INTO requisition_charges VALUES (?, ?, ?, ?, ?, 0, 0, ?)"));
    insert.Bind(1, buckets.measurement_consumer).Bind(2, requisition);
    insert.BindDouble(3, charge.rho).BindDouble(4, charge.theta).Bind(5, EncodeBuckets(buckets));
    insert.Bind(6, absl::ToUnixMicros(absl::Now()));
    return insert.Run();
  });
}

absl::Status PrivacyBudgetLedger::MarkReleased(const std::string& measurement_consumer, const std::string& requisition) {
  return db_->Transaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_->Prepare("UPDATE requisition_charges SET released = 1 WHERE consumer = ? AND requisition = ?"));
    q.Bind(1, measurement_consumer).Bind(2, requisition);
    return q.Run();
  });
}

absl::StatusOr<bool> PrivacyBudgetLedger::Refund(const std::string& measurement_consumer,
                                                 const std::string& requisition) {
  bool refunded = false;
  RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_->Prepare("SELECT rho, theta, buckets, released, refunded FROM requisition_charges "
                                  "WHERE consumer = ? AND requisition = ?"));
    q.Bind(1, measurement_consumer).Bind(2, requisition);
    ASSIGN_OR_RETURN(bool found, q.Step());
    if (!found || q.ColumnInt64(3) != 0 || q.ColumnInt64(4) != 0) return absl::OkStatus();
    const dp::AcdpCharge charge{q.ColumnDouble(0), q.ColumnDouble(1)};
    ASSIGN_OR_RETURN(PrivacyBuckets buckets, DecodeBuckets(measurement_consumer, q.ColumnText(2)));
    RETURN_IF_ERROR(AddToBuckets(buckets, {-charge.rho, -charge.theta}, false));
    ASSIGN_OR_RETURN(storage::Statement update,
                     db_->Prepare("UPDATE requisition_charges SET refunded = 1 WHERE consumer = ? AND requisition = ?"));
    update.Bind(1, measurement_consumer).Bind(2, requisition);
    RETURN_IF_ERROR(update.Run());
    refunded = true;
    return absl::OkStatus();
  }));
  return refunded;
}

absl::StatusOr<std::vector<PrivacyBudgetLedger::BucketUse>> PrivacyBudgetLedger::Usage() {
  std::vector<BucketUse> rows;
  RETURN_IF_ERROR(db_->ReadTransaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_->Prepare("SELECT consumer, day, age_group, gender, slice, rho, theta FROM bucket_charges "
                                  "WHERE rho > 0 OR theta > 0 ORDER BY consumer, day, age_group, gender, slice"));
    while (true) {
      ASSIGN_OR_RETURN(bool more, q.Step());
      if (!more) break;
      BucketUse use;
      use.measurement_consumer = q.ColumnText(0);
      use.cell = {q.ColumnInt64(1), static_cast<int>(q.ColumnInt64(2)), static_cast<int>(q.ColumnInt64(3))};
      use.first_slice = use.last_slice = static_cast<int>(q.ColumnInt64(4));
      use.used = {q.ColumnDouble(5), q.ColumnDouble(6)};
      if (!rows.empty()) {
        BucketUse& last = rows.back();
        if (last.measurement_consumer == use.measurement_consumer && last.cell == use.cell &&
            last.last_slice + 1 == use.first_slice && last.used.rho == use.used.rho &&
            last.used.theta == use.used.theta) {
          last.last_slice = use.first_slice;
          continue;
        }
      }
      rows.push_back(std::move(use));
    }
    return absl::OkStatus();
  }));
  for (BucketUse& use : rows) {
    use.delta = dp::AcdpDelta(use.used, budget_.epsilon);
    use.rho_left = dp::RhoLeft(use.used, budget_);
  }
  return rows;
}

}  // namespace halo::edp
