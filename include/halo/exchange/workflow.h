// Checking an exchange workflow before anyone runs it, and the order its
// steps run in. The Kingdom checks a workflow when a recurring exchange is
// created; each exchange daemon checks it again when it loads one.
#ifndef HALO_EXCHANGE_WORKFLOW_H_
#define HALO_EXCHANGE_WORKFLOW_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "halo/api/v1/exchanges.pb.h"

namespace halo::exchange {

// Refuses (INVALID_ARGUMENT, naming the step and the label) a workflow with
// no steps, a step without an id, a party or a kind, a repeated step id, a
// step missing an argument its kind needs or giving one it does not take, a
// blob in an unknown storage or in the wrong one for its step, a blob two
// steps write, an input no step writes (or that only the other party's
// private storage holds), and a cycle. A party runs steps on its own
// hosts, so it refuses too: a file path that would leave its directory, a
// blob label a daemon uses for itself (".signature", ".signing-key"), a
// re-encryption or decryption of the other party's points without a
// maximum_keys bound, and a copy to shared storage of a blob that holds a
// secret (a key, join keys, an order, matches or payloads).
absl::Status ValidateWorkflow(const api::v1::ExchangeWorkflow& workflow);

// What a party pins to accept a workflow: the lowercase hex SHA-256 of its
// deterministic serialization (`halo exchange validate-workflow` prints it).
std::string WorkflowSha256(const api::v1::ExchangeWorkflow& workflow);

// The party whose step writes the shared blob `label`; the workflow must
// be valid and some step must write it.
api::v1::ExchangeWorkflow::Party SharedBlobWriter(const api::v1::ExchangeWorkflow& workflow,
                                                  const std::string& label);

// For each step, the indexes of the steps that write its inputs. The
// workflow must be valid.
std::vector<std::vector<int>> Prerequisites(const api::v1::ExchangeWorkflow& workflow);

// The name of a step's kind ("commutative_encrypt"), for messages.
std::string StepKindName(const api::v1::ExchangeWorkflow::Step& step);

// Parses a workflow in protobuf text form and validates it; errors name
// `file_name` and the line.
absl::StatusOr<api::v1::ExchangeWorkflow> ParseWorkflow(absl::string_view text, absl::string_view file_name);

}  // namespace halo::exchange

#endif  // HALO_EXCHANGE_WORKFLOW_H_
