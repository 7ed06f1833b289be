#include "cli/edp_command.h"

#include <iostream>

#include "absl/strings/str_cat.h"

namespace halo::cli {

std::vector<edp::SyntheticEdp> DefaultSyntheticEdps(int count) {
  std::vector<edp::SyntheticEdp> edps;
  for (int i = 1; i <= count; ++i) {
    const std::string name = absl::StrCat("edp", i);
    edps.push_back({name, std::max(0.2, 0.6 - 0.1 * i), {name + "-video", name + "-display"}});
  }
  return edps;
}

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
    auto summary = edp::WriteSyntheticEvents(options, flags->out);
    if (!summary.ok()) {
      std::cerr << "halo edp generate: " << summary.status().message() << "\n";
      exit_code = 1;
      return;
    }
    std::cout << summary->ToJson();
    exit_code = 0;
  });
}

}  // namespace halo::cli
