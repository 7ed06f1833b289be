#include "cli/exchange_command.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "cli/kingdom_flags.h"
#include "cli/report.h"
#include "google/protobuf/text_format.h"
#include "halo/api/v1/exchanges.grpc.pb.h"
#include "halo/common/files.h"
#include "halo/common/status_macros.h"
#include "halo/exchange/example_workflows.h"
#include "halo/exchange/workflow.h"
#include "halo/net/call.h"
#include "halo/net/peer.h"

namespace halo::cli {
namespace {

using namespace api::v1;

struct ExchangeFlags {
  KingdomFlags kingdom;
  std::string id, data_provider, model_provider, workflow_file, first_date;
  int cadence_days = 1;
  std::string name;
  std::string example = "mini";
};

absl::Status CreateRecurring(const ExchangeFlags& flags) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(flags.workflow_file));
  ASSIGN_OR_RETURN(ExchangeWorkflow workflow, exchange::ParseWorkflow(text, flags.workflow_file));
  ASSIGN_OR_RETURN(auto channel, OpenKingdom(flags.kingdom));
  auto stub = RecurringExchanges::NewStub(channel);
  CreateRecurringExchangeRequest request;
  request.set_recurring_exchange_id(flags.id);
  auto& r = *request.mutable_recurring_exchange();
  r.set_data_provider(flags.data_provider);
  r.set_model_provider(flags.model_provider);
  *r.mutable_workflow() = workflow;
  r.set_first_date(flags.first_date);
  r.set_cadence_days(flags.cadence_days);
  ASSIGN_OR_RETURN(RecurringExchange created, net::Call(*stub, &RecurringExchanges::Stub::CreateRecurringExchange,
                                                        request, "CreateRecurringExchange"));
  std::cout << "created " << created.name() << ": " << created.workflow().steps_size() << " steps from "
            << created.first_date() << " every " << created.cadence_days() << " days\n";
  return absl::OkStatus();
}

absl::Status List(const ExchangeFlags& flags) {
  ASSIGN_OR_RETURN(auto channel, OpenKingdom(flags.kingdom));
  if (flags.name.empty()) {
    auto stub = RecurringExchanges::NewStub(channel);
    ListRecurringExchangesRequest request;
    do {
      ASSIGN_OR_RETURN(ListRecurringExchangesResponse page,
                       net::Call(*stub, &RecurringExchanges::Stub::ListRecurringExchanges, request,
                                 "ListRecurringExchanges"));
      for (const auto& r : page.recurring_exchanges()) {
        std::cout << r.name() << "  " << r.data_provider() << " with " << r.model_provider() << "  from "
                  << r.first_date() << " every " << r.cadence_days() << " days\n";
      }
      request.set_page_token(page.next_page_token());
    } while (!request.page_token().empty());
    return absl::OkStatus();
  }
  auto stub = Exchanges::NewStub(channel);
  ListExchangesRequest request;
  request.set_parent(flags.name);
  ASSIGN_OR_RETURN(ListExchangesResponse exchanges,
                   net::Call(*stub, &Exchanges::Stub::ListExchanges, request, "ListExchanges"));
  for (const auto& e : exchanges.exchanges()) {
    std::cout << e.name() << "  " << Exchange::State_Name(e.state())
              << (e.failure_message().empty() ? "" : "  " + e.failure_message()) << "\n";
  }
  return absl::OkStatus();
}

absl::Status Steps(const ExchangeFlags& flags) {
  ASSIGN_OR_RETURN(auto channel, OpenKingdom(flags.kingdom));
  auto stub = Exchanges::NewStub(channel);
  ListExchangeStepsRequest request;
  request.set_parent(flags.name);
  ASSIGN_OR_RETURN(ListExchangeStepsResponse steps,
                   net::Call(*stub, &Exchanges::Stub::ListExchangeSteps, request, "ListExchangeSteps"));
  for (const auto& s : steps.steps()) {
    std::cout << s.name() << "  " << s.step_id() << "  " << ExchangeWorkflow::Party_Name(s.party()) << "  "
              << ExchangeStep::State_Name(s.state()) << "  attempts " << s.attempt_count() << "\n";
  }
  return absl::OkStatus();
}

absl::Status Attempts(const ExchangeFlags& flags) {
  ASSIGN_OR_RETURN(auto channel, OpenKingdom(flags.kingdom));
  auto stub = Exchanges::NewStub(channel);
  ListExchangeStepAttemptsRequest request;
  request.set_parent(flags.name);
  ASSIGN_OR_RETURN(ListExchangeStepAttemptsResponse attempts,
                   net::Call(*stub, &Exchanges::Stub::ListExchangeStepAttempts, request, "ListExchangeStepAttempts"));
  for (const auto& a : attempts.attempts()) {
    std::cout << a.name() << "  " << ExchangeStepAttempt::State_Name(a.state())
              << (a.message().empty() ? "" : "  " + a.message()) << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

void AddExchangeCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<ExchangeFlags>();
  CLI::App* command = app.add_subcommand("exchange", "Panel Exchange: recurring exchanges, their steps and attempts");
  // example-workflow and validate-workflow need no Kingdom.
  AddKingdomFlags(command, flags->kingdom, /*required=*/false);
  command->require_subcommand(1);

  CLI::App* create = command->add_subcommand("create-recurring", "Create a recurring exchange (administrators)");
  create->add_option("--id", flags->id)->required();
  create->add_option("--data-provider", flags->data_provider, "dataProviders/{id}")->required();
  create->add_option("--model-provider", flags->model_provider, "modelProviders/{id}")->required();
  create->add_option("--workflow", flags->workflow_file, "The workflow (protobuf text)")->required();
  create->add_option("--first-date", flags->first_date, "YYYY-MM-DD")->required();
  create->add_option("--cadence-days", flags->cadence_days)->check(CLI::PositiveNumber);
  create->callback([flags, &exit_code] { exit_code = Report("exchange", CreateRecurring(*flags)); });

  CLI::App* list = command->add_subcommand("list", "List recurring exchanges, or the exchanges of one");
  list->add_option("recurring-exchange", flags->name, "recurringExchanges/{id}");
  list->callback([flags, &exit_code] { exit_code = Report("exchange", List(*flags)); });

  CLI::App* steps = command->add_subcommand("steps", "List an exchange's steps and their states");
  steps->add_option("exchange", flags->name, "recurringExchanges/{id}/exchanges/{date}")->required();
  steps->callback([flags, &exit_code] { exit_code = Report("exchange", Steps(*flags)); });

  CLI::App* attempts = command->add_subcommand("attempts", "List a step's attempts and their errors");
  attempts->add_option("step", flags->name, ".../exchanges/{date}/steps/{index}")->required();
  attempts->callback([flags, &exit_code] { exit_code = Report("exchange", Attempts(*flags)); });

  CLI::App* example = command->add_subcommand("example-workflow", "Print the mini or full example workflow");
  example->add_option("kind", flags->example, "mini or full")->check(CLI::IsMember({"mini", "full"}));
  example->callback([flags, &exit_code] {
    std::string text;
    google::protobuf::TextFormat::PrintToString(
        flags->example == "full" ? exchange::FullExchangeWorkflow() : exchange::MiniExchangeWorkflow(), &text);
    std::cout << text;
    exit_code = 0;
  });

  CLI::App* validate = command->add_subcommand(
      "validate-workflow", "Check a workflow file and print the SHA-256 a party pins to accept it");
  validate->add_option("file", flags->workflow_file)->required();
  validate->callback([flags, &exit_code] {
    absl::StatusOr<std::string> text = ReadFile(flags->workflow_file);
    absl::StatusOr<api::v1::ExchangeWorkflow> workflow =
        text.ok() ? exchange::ParseWorkflow(*text, flags->workflow_file) : text.status();
    const absl::Status status = workflow.status();
    // The hash is what each party pins to agree to run the workflow.
    if (status.ok()) {
      std::cout << flags->workflow_file << ": a valid workflow\nsha256: " << exchange::WorkflowSha256(*workflow)
                << "\n";
    }
    exit_code = Report("exchange", status);
  });
}

}  // namespace halo::cli
