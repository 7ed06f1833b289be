#include "halo/edp/privacy_budget.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "testing/temp_dir.h"

namespace halo::edp {
namespace {

constexpr int64_t kDay = int64_t{86400} * 1000000;
constexpr int64_t kJan1 = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z, day 20454

EventGroupSelection Selection(int64_t start, int64_t end, const std::string& filter) {
  return {"g", start, end, *EventFilter::Parse(filter)};
}

sketch::VidSampler Sampler(double start, double width) { return *sketch::VidSampler::Create(300'000, {start, width}); }

const DemographicFields kFields = {"age", "gender"};

TEST_CASE("A requisition's buckets: the days it spans, the cells its filter can select, the slices it samples") {
  const auto buckets = BucketsOf("measurementConsumers/mc1", {Selection(kJan1 + 3600, kJan1 + kDay + 1, "age >= 40 && gender == \"F\" && region == \"north\"")},
                                 Sampler(0.2, 0.5), kFields);
  REQUIRE(buckets.ok());
  CHECK(buckets->cells == std::vector<PrivacyCell>{{20454, 1, 0}, {20454, 2, 0}, {20455, 1, 0}, {20455, 2, 0}});
  REQUIRE(buckets->slices.size() == 150);
  CHECK(buckets->slices.front() == 60);
  CHECK(buckets->slices.back() == 209);

  // A filter over other fields only, or no known demographic fields, may
  // select anyone: every cell.
  CHECK(BucketsOf("m", {Selection(kJan1, kJan1 + kDay, "region == \"north\"")}, Sampler(0, 1), kFields)->cells.size() == 6);
  CHECK(BucketsOf("m", {Selection(kJan1, kJan1 + kDay, "gender == \"F\"")}, Sampler(0, 1), {})->cells.size() == 6);
  CHECK(BucketsOf("m", {Selection(kJan1, kJan1 + kDay, "!(gender != \"M\") && age < 20")}, Sampler(0, 1), kFields)->cells ==
        std::vector<PrivacyCell>{{20454, 0, 1}});
  // A gender that is neither F nor M counts as M.
  CHECK(BucketsOf("m", {Selection(kJan1, kJan1 + kDay, "gender == \"X\"")}, Sampler(0, 1), kFields)->cells.size() == 3);
  // Ages between whole years and beyond any age are tried too.
  CHECK(BucketsOf("m", {Selection(kJan1, kJan1 + kDay, "age > 34.5 && age < 34.9")}, Sampler(0, 1), kFields)->cells ==
        std::vector<PrivacyCell>{{20454, 0, 0}, {20454, 0, 1}});
  CHECK(BucketsOf("m", {Selection(kJan1, kJan1 + kDay, "age == 200 && gender in [\"F\"]")}, Sampler(0, 1), kFields)->cells ==
        std::vector<PrivacyCell>{{20454, 2, 0}});
  // A filter reading age as a string cannot be narrowed.
  CHECK(BucketsOf("m", {Selection(kJan1, kJan1 + kDay, "age == \"old\"")}, Sampler(0, 1), kFields)->cells.size() == 6);
  // Two entries: the union of their cells.
  CHECK(BucketsOf("m", {Selection(kJan1, kJan1 + kDay, "age < 30"), Selection(kJan1 + kDay, kJan1 + 2 * kDay, "age > 60")},
                  Sampler(0, 1), kFields)
            ->cells.size() == 4);

  // The wrapped part and the slice holding the start are charged.
  const auto wrapped = BucketsOf("m", {Selection(kJan1, kJan1 + kDay, "")}, Sampler(0.9, 0.2), kFields);
  REQUIRE(wrapped->slices.size() == 60);
  CHECK(wrapped->slices.front() == 0);
  CHECK(wrapped->slices[29] == 29);
  CHECK(wrapped->slices[30] == 270);
  CHECK(wrapped->slices.back() == 299);
  const auto narrow = BucketsOf("m", {Selection(kJan1, kJan1 + kDay, "")}, Sampler(0.2005, 0.001), kFields);
  CHECK(narrow->slices == std::vector<int>{60});
  CHECK(BucketsOf("m", {Selection(kJan1, kJan1 + kDay, "")}, Sampler(0.2005, 0.01), kFields)->slices ==
        std::vector<int>{60, 61, 62, 63});

  const auto too_long = BucketsOf("m", {Selection(kJan1, kJan1 + 367 * kDay, "")}, Sampler(0, 1), kFields);
  CHECK(too_long.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(too_long.status().message()), Catch::Contains("367 days"));
}

PrivacyBuckets SomeBuckets(const std::string& mc = "measurementConsumers/mc1") {
  return *BucketsOf(mc, {Selection(kJan1, kJan1 + 2 * kDay, "gender == \"F\"")}, Sampler(0.1, 0.05), kFields);
}

// rho used in one bucket every charge above touches.
double RhoUsed(PrivacyBudgetLedger& ledger, const std::string& mc = "measurementConsumers/mc1") {
  auto usage = ledger.Usage();
  REQUIRE(usage.ok());
  double rho = -1;
  for (const auto& use : *usage) {
    if (use.measurement_consumer != mc) continue;
    if (rho >= 0) CHECK(use.used.rho == Approx(rho));  // every touched bucket alike
    rho = use.used.rho;
  }
  return std::max(rho, 0.0);
}

TEST_CASE("Charges compose until a bucket's budget is spent; a refused charge charges nothing") {
  testing::TempDir dir;
  auto ledger = PrivacyBudgetLedger::Open(dir.Sub("budget.db"), {1, 1e-9});
  REQUIRE(ledger.ok());
  const dp::AcdpCharge charge{0.002, 0};
  int accepted = 0;
  absl::Status refused;
  for (int i = 0; i < 100; ++i) {
    const absl::Status status = (*ledger)->Charge(absl::StrCat("dataProviders/edp1/requisitions/r", i), SomeBuckets(), charge);
    if (!status.ok()) {
      refused = status;
      break;
    }
    ++accepted;
  }
  const double left = dp::RhoLeft({0, 0}, {1, 1e-9});
  CHECK(accepted == static_cast<int>(left / 0.002));
  CHECK(refused.code() == absl::StatusCode::kResourceExhausted);
  CHECK_THAT(std::string(refused.message()), Catch::Contains("privacy budget exceeded") &&
                                                 Catch::Contains("measurementConsumers/mc1") &&
                                                 Catch::Contains("VID slice 30"));
  CHECK(RhoUsed(**ledger) == Approx(accepted * 0.002));
  // Another measurement consumer has its own buckets.
  CHECK((*ledger)->Charge("dataProviders/edp1/requisitions/other", SomeBuckets("measurementConsumers/mc2"), charge).ok());
  CHECK(RhoUsed(**ledger, "measurementConsumers/mc2") == Approx(0.002));
}

TEST_CASE("A retried requisition is charged once; a charge is refunded once, and never once released") {
  testing::TempDir dir;
  auto ledger = *PrivacyBudgetLedger::Open(dir.Sub("budget.db"), {10, 1e-6});
  const std::string mc = "measurementConsumers/mc1";
  REQUIRE(ledger->Charge("r1", SomeBuckets(), {0.1, 0}).ok());
  REQUIRE(ledger->Charge("r1", SomeBuckets(), {0.1, 0}).ok());
  CHECK(RhoUsed(*ledger) == Approx(0.1));
  REQUIRE(ledger->Charge("r2", SomeBuckets(), {0.1, 0}).ok());
  CHECK(RhoUsed(*ledger) == Approx(0.2));

  CHECK(*ledger->Refund(mc, "r2"));
  CHECK_FALSE(*ledger->Refund(mc, "r2"));
  CHECK(RhoUsed(*ledger) == Approx(0.1));
  REQUIRE(ledger->MarkReleased(mc, "r1").ok());
  CHECK_FALSE(*ledger->Refund(mc, "r1"));
  CHECK_FALSE(*ledger->Refund(mc, "never-charged"));
  CHECK(RhoUsed(*ledger) == Approx(0.1));
  // A refunded requisition that comes back is charged again.
  REQUIRE(ledger->Charge("r2", SomeBuckets(), {0.1, 0}).ok());
  CHECK(RhoUsed(*ledger) == Approx(0.2));
}

TEST_CASE("Killed between charge and fulfilment, the ledger neither loses the charge nor takes it twice") {
  testing::TempDir dir;
  const std::string path = dir.Sub("budget.db");
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto ledger = PrivacyBudgetLedger::Open(path, {10, 1e-6});
    if (!ledger.ok() || !(*ledger)->Charge("r1", SomeBuckets(), {0.1, 0}).ok()) _exit(1);
    raise(SIGKILL);  // the fulfilment never happens
    _exit(2);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  auto ledger = *PrivacyBudgetLedger::Open(path, {10, 1e-6});
  CHECK(RhoUsed(*ledger) == Approx(0.1));  // kept
  REQUIRE(ledger->Charge("r1", SomeBuckets(), {0.1, 0}).ok());  // the retry after restart
  CHECK(RhoUsed(*ledger) == Approx(0.1));  // once
}

TEST_CASE("Killed in the middle of charging, every charge is in its buckets whole or not at all") {
  testing::TempDir dir;
  const std::string path = dir.Sub("budget.db");
  // A big bucket set, so that a charge takes long enough to be cut.
  const auto buckets = *BucketsOf("measurementConsumers/mc1", {Selection(kJan1, kJan1 + 28 * kDay, "")}, Sampler(0, 1), kFields);
  REQUIRE(buckets.size() == 28 * 6 * 300);
  // The child says when its first charge is committed, so the kill lands
  // after it (and most likely inside a later one) however slow the machine.
  int committed[2];
  REQUIRE(pipe(committed) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(committed[0]);
    auto ledger = PrivacyBudgetLedger::Open(path, {1000, 0.5});
    if (!ledger.ok()) _exit(1);
    for (int i = 0;; ++i) {
      if (!(*ledger)->Charge(absl::StrCat("r", i), buckets, {0.001, 0}).ok()) _exit(1);
      if (i == 0 && write(committed[1], "c", 1) != 1) _exit(1);
    }
  }
  close(committed[1]);
  char byte = 0;
  REQUIRE(read(committed[0], &byte, 1) == 1);
  close(committed[0]);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  REQUIRE(kill(child, SIGKILL) == 0);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  auto ledger = *PrivacyBudgetLedger::Open(path, {1000, 0.5});
  auto usage = ledger->Usage();
  REQUIRE(usage.ok());
  REQUIRE_FALSE(usage->empty());
  // One row per cell: every slice of every cell holds the same total, a
  // whole number of charges.
  CHECK(usage->size() == 28 * 6);
  const double rho = usage->front().used.rho;
  for (const auto& use : *usage) {
    CHECK(use.first_slice == 0);
    CHECK(use.last_slice == 299);
    CHECK(use.used.rho == rho);
  }
  const double charges = rho / 0.001;
  CHECK(charges >= 1);
  CHECK(std::abs(charges - std::round(charges)) < 1e-6);
  INFO("charges committed before the kill: " << charges);
  // The next retry of the interrupted requisition charges it once.
  const int next = static_cast<int>(std::round(charges));
  REQUIRE(ledger->Charge(absl::StrCat("r", next), buckets, {0.001, 0}).ok());
  REQUIRE(ledger->Charge(absl::StrCat("r", next), buckets, {0.001, 0}).ok());
  CHECK((*ledger->Usage()).front().used.rho == Approx(rho + 0.001));
}

TEST_CASE("Usage reports what each bucket has left") {
  testing::TempDir dir;
  auto ledger = *PrivacyBudgetLedger::Open(dir.Sub("budget.db"), {1, 1e-9});
  REQUIRE(ledger->Charge("r1", SomeBuckets(), {0.002, 0}).ok());
  auto usage = ledger->Usage();
  REQUIRE(usage.ok());
  // Two days, one cell each of three age groups (gender F), slices 30-44.
  REQUIRE(usage->size() == 6);
  for (const auto& use : *usage) {
    CHECK(use.first_slice == 30);
    CHECK(use.last_slice == 44);
    CHECK(use.cell.gender == 0);
    CHECK(use.rho_left == Approx(dp::RhoLeft({0, 0}, {1, 1e-9}) - 0.002).epsilon(1e-6));
    CHECK(use.delta < 1e-9);
  }
  CHECK_FALSE(PrivacyBudgetLedger::Open(dir.Sub("bad.db"), {0, 1e-9}).ok());
  CHECK_FALSE(PrivacyBudgetLedger::Open(dir.Sub("bad.db"), {1, 1}).ok());
}

}  // namespace
}  // namespace halo::edp
