#include "halo/exchange/workflow.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/match.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/text_format.h"
#include "halo/common/confined_directory.h"
#include "halo/common/hex.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/sha256.h"

namespace halo::exchange {
namespace {

using Workflow = api::v1::ExchangeWorkflow;
using Step = Workflow::Step;

struct Contract {
  std::vector<std::string> inputs;
  std::vector<std::string> optional_inputs;
  std::vector<std::string> outputs;
  Workflow::Storage input_storage = Workflow::PRIVATE;
  Workflow::Storage output_storage = Workflow::PRIVATE;
};

Contract ContractOf(const Step& step) {
  switch (step.kind_case()) {
    case Step::kInput:
      return {{}, {}, {"join_keys"}};
    case Step::kGenerateCommutativeKey:
      return {{}, {}, {"key"}};
    case Step::kGenerateCertificate:
      return {{}, {}, {"certificate"}};
    case Step::kCommutativeEncrypt:
      return {{"join_keys", "key"}, {}, {"encrypted", "order"}};
    case Step::kCommutativeReencrypt:
      return {{"encrypted", "key"}, {}, {"reencrypted"}};
    case Step::kCommutativeDecrypt:
      return {{"encrypted", "key"}, {}, {"decrypted"}};
    case Step::kCopyToSharedStorage:
      return {{"blob"}, {"certificate"}, {"blob"}, Workflow::PRIVATE, Workflow::SHARED};
    case Step::kCopyFromSharedStorage:
      return {{"blob"}, {}, {"blob"}, Workflow::SHARED, Workflow::PRIVATE};
    case Step::kIntersectAndValidate:
      return {{"ours", "theirs", "join_keys", "order"}, {}, {"matched"}};
    case Step::kEncryptPayloads:
      return {{"join_keys", "order", "ours"}, {}, {"encrypted_payloads"}};
    case Step::kDecryptPayloads:
      return {{"encrypted_payloads", "join_keys", "order", "ours"}, {}, {"payloads"}};
    case Step::kWriteOutput:
      return {{"matched"}, {"payloads"}, {}};
    case Step::KIND_NOT_SET:
      break;
  }
  return {};
}

// Where a blob lives: shared storage is one for both parties; private
// storage is each party's own.
std::string BlobKey(const Workflow::Blob& blob, Workflow::Party party) {
  return blob.storage() == Workflow::SHARED ? absl::StrCat("shared:", blob.label())
                                            : absl::StrCat(Workflow::Party_Name(party), ":", blob.label());
}

std::string Describe(const Workflow::Blob& blob) {
  return absl::StrCat(blob.storage() == Workflow::SHARED ? "shared" : "private", " blob \"", blob.label(), "\"");
}

absl::Status StepError(const Step& step, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("workflow step \"", step.step_id(), "\": ", what));
}

absl::Status CheckArguments(const Step& step, const google::protobuf::Map<std::string, Workflow::Blob>& given,
                            const std::vector<std::string>& required, const std::vector<std::string>& optional,
                            Workflow::Storage storage, absl::string_view kind) {
  for (const std::string& name : required) {
    if (!given.contains(name)) {
      return StepError(step, absl::StrCat(StepKindName(step), " needs ", kind, " \"", name, "\""));
    }
  }
  for (const auto& [name, blob] : given) {
    const bool known = std::find(required.begin(), required.end(), name) != required.end() ||
                       std::find(optional.begin(), optional.end(), name) != optional.end();
    if (!known) {
      return StepError(step, absl::StrCat(StepKindName(step), " takes no ", kind, " \"", name, "\" (it takes: ",
                                          absl::StrJoin(required, ", "), ")"));
    }
    if (blob.label().empty()) return StepError(step, absl::StrCat(kind, " \"", name, "\" has no label"));
    if (blob.storage() != Workflow::PRIVATE && blob.storage() != Workflow::SHARED) {
      return StepError(step, absl::StrCat(kind, " \"", name, "\" (blob \"", blob.label(),
                                          "\") has no known storage: PRIVATE or SHARED"));
    }
    if (blob.storage() != storage) {
      return StepError(step, absl::StrCat(kind, " \"", name, "\" (blob \"", blob.label(), "\") must be in ",
                                          storage == Workflow::SHARED ? "shared" : "private", " storage for ",
                                          StepKindName(step)));
    }
  }
  return absl::OkStatus();
}

// The outputs another party may see: points under at least one secret key
// the other party lacks, payloads sealed under keys derived from join keys,
// and what the other party shared already.
bool Shareable(const Step& step, const std::string& argument) {
  switch (step.kind_case()) {
    case Step::kCommutativeEncrypt:
      return argument == "encrypted";
    case Step::kCommutativeReencrypt:
      return argument == "reencrypted";
    case Step::kCommutativeDecrypt:
      return argument == "decrypted";
    case Step::kEncryptPayloads:
      return argument == "encrypted_payloads";
    case Step::kCopyFromSharedStorage:
      return argument == "blob";
    default:
      return false;
  }
}

// Checks what a party refuses to run on its own hosts, whoever wrote the
// workflow: paths outside its directories, labels that would collide with
// the daemon's own blobs, unbounded work on the other party's points.
absl::Status CheckStepIsSafe(const Step& step) {
  for (const auto* blobs : {&step.inputs(), &step.outputs()}) {
    for (const auto& [name, blob] : *blobs) {
      if (absl::Status label = CheckConfinedPath(blob.label(), absl::StrCat("blob label of \"", name, "\""));
          !label.ok()) {
        return StepError(step, label.message());
      }
      for (absl::string_view reserved : {".signature", ".signing-key", ".tmp"}) {
        if (absl::EndsWith(blob.label(), reserved)) {
          return StepError(step, absl::StrCat("blob label \"", blob.label(), "\" ends with \"", reserved,
                                              "\", which the daemon keeps for its own blobs"));
        }
      }
    }
  }
  if (step.has_input()) {
    if (absl::Status path = CheckConfinedPath(step.input().path(), "input.path"); !path.ok()) {
      return StepError(step, path.message());
    }
  }
  if (step.has_write_output()) {
    if (absl::Status path = CheckConfinedPath(step.write_output().path(), "write_output.path"); !path.ok()) {
      return StepError(step, path.message());
    }
  }
  if ((step.has_commutative_reencrypt() && step.commutative_reencrypt().maximum_keys() <= 0) ||
      (step.has_commutative_decrypt() && step.commutative_decrypt().maximum_keys() <= 0)) {
    return StepError(step, absl::StrCat(StepKindName(step),
                                        " needs a positive maximum_keys: the most of the other party's points "
                                        "it will work on"));
  }
  return absl::OkStatus();
}

// Which step writes each blob.
std::map<std::string, int> Producers(const Workflow& workflow) {
  std::map<std::string, int> producers;
  for (int i = 0; i < workflow.steps_size(); ++i) {
    const Step& step = workflow.steps(i);
    for (const auto& [name, blob] : step.outputs()) producers.emplace(BlobKey(blob, step.party()), i);
  }
  return producers;
}

}  // namespace

std::string StepKindName(const Step& step) {
  const auto* field = Step::descriptor()->FindFieldByNumber(step.kind_case());
  return field == nullptr ? "a step of no kind" : field->name();
}

absl::Status ValidateWorkflow(const Workflow& workflow) {
  if (workflow.steps().empty()) return absl::InvalidArgumentError("the workflow has no steps");
  std::set<std::string> ids;
  std::map<std::string, int> producers;
  for (int i = 0; i < workflow.steps_size(); ++i) {
    const Step& step = workflow.steps(i);
    if (step.step_id().empty()) return absl::InvalidArgumentError(absl::StrCat("workflow step ", i + 1, " has no step_id"));
    if (!ids.insert(step.step_id()).second) return StepError(step, "the step_id is used twice");
    if (step.party() != Workflow::DATA_PROVIDER && step.party() != Workflow::MODEL_PROVIDER) {
      return StepError(step, "is assigned to no party (DATA_PROVIDER or MODEL_PROVIDER)");
    }
    if (step.kind_case() == Step::KIND_NOT_SET) return StepError(step, "has no kind (input, commutative_encrypt, ...)");
    const Contract contract = ContractOf(step);
    RETURN_IF_ERROR(
        CheckArguments(step, step.inputs(), contract.inputs, contract.optional_inputs, contract.input_storage, "input"));
    RETURN_IF_ERROR(CheckArguments(step, step.outputs(), contract.outputs, {}, contract.output_storage, "output"));
    RETURN_IF_ERROR(CheckStepIsSafe(step));
    for (const auto& [name, blob] : step.outputs()) {
      auto [it, added] = producers.emplace(BlobKey(blob, step.party()), i);
      if (!added) {
        return StepError(step, absl::StrCat("output \"", name, "\": ", Describe(blob), " is written by step \"",
                                            workflow.steps(it->second).step_id(), "\" too"));
      }
    }
  }
  for (const Step& step : workflow.steps()) {
    for (const auto& [name, blob] : step.inputs()) {
      if (producers.contains(BlobKey(blob, step.party()))) continue;
      const Workflow::Party other =
          step.party() == Workflow::DATA_PROVIDER ? Workflow::MODEL_PROVIDER : Workflow::DATA_PROVIDER;
      const bool others = blob.storage() == Workflow::PRIVATE && producers.contains(BlobKey(blob, other));
      return StepError(step, absl::StrCat("input \"", name, "\": ", Describe(blob), " is written by no step",
                                          others ? absl::StrCat(" of ", Workflow::Party_Name(step.party()),
                                                                " (only the other party's private storage has it)")
                                                 : ""));
    }
  }
  for (const Step& step : workflow.steps()) {
    if (!step.has_copy_to_shared_storage()) continue;
    const Workflow::Blob& blob = step.inputs().at("blob");
    const Step& writer = workflow.steps(producers.at(BlobKey(blob, step.party())));
    std::string argument;
    for (const auto& [name, output] : writer.outputs()) {
      if (BlobKey(output, writer.party()) == BlobKey(blob, step.party())) argument = name;
    }
    if (!Shareable(writer, argument)) {
      return StepError(step, absl::StrCat("would copy ", Describe(blob), " to shared storage, but it is the ",
                                          argument, " of ", StepKindName(writer), " step \"", writer.step_id(),
                                          "\": a secret the other party must never see"));
    }
  }
  // Kahn's algorithm: whatever cannot be ordered is on a cycle.
  const std::vector<std::vector<int>> prerequisites = Prerequisites(workflow);
  std::vector<int> waiting(workflow.steps_size());
  std::vector<std::vector<int>> unblocks(workflow.steps_size());
  std::vector<int> ready;
  for (int i = 0; i < workflow.steps_size(); ++i) {
    waiting[i] = static_cast<int>(prerequisites[i].size());
    for (int p : prerequisites[i]) unblocks[p].push_back(i);
    if (waiting[i] == 0) ready.push_back(i);
  }
  int ordered = 0;
  while (!ready.empty()) {
    const int i = ready.back();
    ready.pop_back();
    ++ordered;
    for (int next : unblocks[i]) {
      if (--waiting[next] == 0) ready.push_back(next);
    }
  }
  if (ordered < workflow.steps_size()) {
    std::vector<std::string> stuck;
    for (int i = 0; i < workflow.steps_size(); ++i) {
      if (waiting[i] > 0) stuck.push_back(absl::StrCat("\"", workflow.steps(i).step_id(), "\""));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("the workflow has a cycle: steps ", absl::StrJoin(stuck, ", "), " wait for each other"));
  }
  return absl::OkStatus();
}

std::vector<std::vector<int>> Prerequisites(const Workflow& workflow) {
  const std::map<std::string, int> producers = Producers(workflow);
  std::vector<std::vector<int>> out(workflow.steps_size());
  for (int i = 0; i < workflow.steps_size(); ++i) {
    const Step& step = workflow.steps(i);
    std::set<int> before;
    for (const auto& [name, blob] : step.inputs()) {
      auto it = producers.find(BlobKey(blob, step.party()));
      if (it != producers.end() && it->second != i) before.insert(it->second);
    }
    out[i].assign(before.begin(), before.end());
  }
  return out;
}

std::string WorkflowSha256(const Workflow& workflow) {
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  workflow.SerializeToCodedStream(&coded);
  coded.Trim();
  return HexEncode(crypto::Sha256(bytes));
}

Workflow::Party SharedBlobWriter(const Workflow& workflow, const std::string& label) {
  for (const Step& step : workflow.steps()) {
    for (const auto& [name, blob] : step.outputs()) {
      if (blob.storage() == Workflow::SHARED && blob.label() == label) return step.party();
    }
  }
  return Workflow::PARTY_UNSPECIFIED;
}

absl::StatusOr<Workflow> ParseWorkflow(absl::string_view text, absl::string_view file_name) {
  class Errors : public google::protobuf::io::ErrorCollector {
   public:
    void AddError(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {
      if (first.empty()) first = absl::StrCat(line + 1, ":", column + 1, ": ", message);
    }
    std::string first;
  } errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  Workflow workflow;
  if (!parser.ParseFromString(std::string(text), &workflow)) {
    return absl::InvalidArgumentError(absl::StrCat(file_name, ":", errors.first));
  }
  absl::Status valid = ValidateWorkflow(workflow);
  if (!valid.ok()) return absl::InvalidArgumentError(absl::StrCat(file_name, ": ", valid.message()));
  return workflow;
}

}  // namespace halo::exchange
