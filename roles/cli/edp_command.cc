#include "cli/edp_command.h"

#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "cli/progress.h"
#include "cli/report.h"
#include "halo/common/config.h"
#include "halo/common/status_macros.h"
#include "halo/edp/edp_agent.h"
#include "halo/edp/privacy_budget.h"

namespace halo::cli {

std::vector<edp::SyntheticEdp> DefaultSyntheticEdps(int count) {
  std::vector<edp::SyntheticEdp> edps;
  for (int i = 1; i <= count; ++i) {
    const std::string name = absl::StrCat("edp", i);
    edps.push_back({name, std::max(0.2, 0.6 - 0.1 * i), {name + "-video", name + "-display"}});
  }
  return edps;
}

namespace {

std::string DayName(int64_t day) {
  return absl::FormatTime("%Y-%m-%d", absl::FromUnixSeconds(day * 86400), absl::UTCTimeZone());
}

// Prints what is left of the agent's privacy budget, per measurement
// consumer and bucket.
absl::Status PrintBudget(const std::string& config_path, bool json) {
  ASSIGN_OR_RETURN(config::HaloConfig config, LoadConfig(config_path, "edp-agent"));
  const dp::PrivacyBudget budget = edp::PrivacyBudgetOf(config.edp_agent().privacy());
  const std::string path = edp::PrivacyBudgetPath(config.data_dir());
  std::vector<edp::PrivacyBudgetLedger::BucketUse> usage;
  if (std::filesystem::exists(path)) {
    ASSIGN_OR_RETURN(auto ledger, edp::PrivacyBudgetLedger::Open(path, budget));
    ASSIGN_OR_RETURN(usage, ledger->Usage());
  }
  const double whole = dp::RhoLeft({0, 0}, budget);
  if (json) {
    std::cout << absl::StrFormat("{\"budget\": {\"epsilon\": %.17g, \"delta\": %.17g, \"rho\": %.17g}, \"buckets\": [",
                                 budget.epsilon, budget.delta, whole);
    for (size_t i = 0; i < usage.size(); ++i) {
      const auto& u = usage[i];
      std::cout << absl::StrFormat(
          "%s\n  {\"measurement_consumer\": \"%s\", \"day\": \"%s\", \"age_group\": \"%s\", \"gender\": \"%s\", "
          "\"first_slice\": %d, \"last_slice\": %d, \"rho\": %.17g, \"theta\": %.17g, \"delta\": %.17g, "
          "\"rho_left\": %.17g}",
          i == 0 ? "" : ",", u.measurement_consumer, DayName(u.cell.day), edp::AgeGroupName(u.cell.age_group),
          edp::GenderName(u.cell.gender), u.first_slice, u.last_slice, u.used.rho, u.used.theta, u.delta, u.rho_left);
    }
    std::cout << (usage.empty() ? "]}\n" : "\n]}\n");
    return absl::OkStatus();
  }
  std::cout << absl::StrFormat("each bucket's budget: epsilon %g, delta %g (rho %.4g at theta 0)\n", budget.epsilon,
                               budget.delta, whole);
  if (usage.empty()) {
    std::cout << "nothing charged yet\n";
    return absl::OkStatus();
  }
  std::string consumer;
  for (const auto& u : usage) {
    if (u.measurement_consumer != consumer) {
      consumer = u.measurement_consumer;
      std::cout << consumer << "\n  day         age    gender  VID slices  rho used   theta used  rho left  left\n";
    }
    std::cout << absl::StrFormat("  %s  %-5s  %-6s  %3d-%-3d     %-9.4g  %-10.3g  %-8.4g  %3.0f%%\n", DayName(u.cell.day),
                                 edp::AgeGroupName(u.cell.age_group), edp::GenderName(u.cell.gender), u.first_slice,
                                 u.last_slice, u.used.rho, u.used.theta, u.rho_left,
                                 whole > 0 ? 100 * u.rho_left / whole : 0);
  }
  return absl::OkStatus();
}

}  // namespace

void AddEdpCommand(CLI::App& app, int& exit_code) {
  CLI::App* edp = app.add_subcommand("edp", "A data provider's commands");
  edp->require_subcommand(1);
  struct GenerateFlags {
    std::string out;
    int edps = 2;
    bool csv = false;
    edp::SyntheticEventsOptions options;
  };
  auto flags = std::make_shared<GenerateFlags>();
  CLI::App* generate = edp->add_subcommand(
      "generate", "Write synthetic events for EDPs edp1..edpN ({out}/{edp}/events-*.hev) and {out}/truth.json");
  generate->add_option("--out", flags->out, "Directory to write to")->required();
  generate->add_option("--edps", flags->edps, "How many EDPs")->check(CLI::Range(1, 20));
  generate->add_option("--population", flags->options.population_size, "VIDs are [0, population)");
  generate->add_option("--audience", flags->options.audience_size, "People any EDP may reach");
  generate->add_option("--mean-frequency", flags->options.mean_frequency, "Events a reached person, on average");
  generate->add_option("--days", flags->options.days, "Length of the campaign");
  generate->add_option("--rows-per-file", flags->options.rows_per_file);
  generate->add_option("--seed", flags->options.seed);
  generate->add_flag("--csv", flags->csv, "Write CSV instead of the columnar form");
  generate->callback([flags, &exit_code] {
    edp::SyntheticEventsOptions options = flags->options;
    options.edps = DefaultSyntheticEdps(flags->edps);
    options.columnar = !flags->csv;
    auto summary = WithProgress(absl::StrCat("generating events in ", flags->out),
                                [&] { return edp::WriteSyntheticEvents(options, flags->out); });
    if (!summary.ok()) {
      std::cerr << "halo edp generate: " << summary.status().message() << "\n";
      exit_code = 1;
      return;
    }
    std::cout << summary->ToJson();
    exit_code = 0;
  });

  struct BudgetFlags {
    std::string config;
    bool json = false;
  };
  auto budget_flags = std::make_shared<BudgetFlags>();
  CLI::App* budget = edp->add_subcommand(
      "budget", "What is left of the agent's privacy budget, per measurement consumer and bucket");
  budget->add_option("--config", budget_flags->config, "The agent's config (halo --role=edp-agent)")->required();
  budget->add_flag("--json", budget_flags->json, "Print JSON");
  budget->callback([budget_flags, &exit_code] {
    exit_code = Report("edp budget", PrintBudget(budget_flags->config, budget_flags->json));
  });
}

}  // namespace halo::cli
