// The work of one exchange step: read its inputs, compute, write its
// outputs. Each kind's arguments are in exchanges.proto; the blob formats:
//   join_keys, matched, payloads  text, a key a line ("key" or "key\tpayload")
//   key                           the commutative cipher's 32-byte secret
//   certificate                   a certificate's resource name; its private
//                                 key beside it as "{label}.signing-key"
//   encrypted, reencrypted, ...   uncompressed P-256 points, 65 bytes each
//   order                         a little-endian uint32 a point: the line of
//                                 join_keys it came from
//   encrypted_payloads            records: the doubly encrypted point (65
//                                 bytes), a little-endian uint32 length, the
//                                 sealed payload
// Statuses: INVALID_ARGUMENT, PERMISSION_DENIED (a shared blob that fails
// its signature), RESOURCE_EXHAUSTED (a blob over the daemon's bound) and
// DATA_LOSS mean the inputs are bad and a retry cannot help; anything else
// may pass on a retry.
#ifndef HALO_SRC_EXCHANGE_STEPS_H_
#define HALO_SRC_EXCHANGE_STEPS_H_

#include <atomic>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "halo/api/v1/exchanges.pb.h"
#include "halo/common/confined_directory.h"
#include "halo/crypto/certificate.h"
#include "halo/exchange/exchange_storage.h"

namespace halo::exchange {

struct StepContext {
  // The workflow, valid and pinned by this party, and the step to run.
  const api::v1::ExchangeWorkflow* workflow = nullptr;
  const api::v1::ExchangeWorkflow::Step* step = nullptr;
  // "{recurring exchange id}/{date}/": where this exchange's blobs are.
  std::string blob_prefix;
  ExchangeStorage* private_storage = nullptr;
  SignedStorage* shared_storage = nullptr;
  // The two parties' entity names: a shared blob must be signed by the one
  // whose step writes it.
  std::string data_provider;
  std::string model_provider;
  // Where input steps read panels and write_output steps write.
  const ConfinedDirectory* input_dir = nullptr;
  const ConfinedDirectory* output_dir = nullptr;
  // The largest blob or file a step reads.
  uint64_t maximum_blob_bytes = 0;
  // This party's entity name.
  std::string party;
  // For generate_certificate: the party's CA (null if it has none), and a
  // call that registers an issued certificate with the Kingdom, returning
  // its resource name.
  const crypto::CertificateAuthority* certificate_authority = nullptr;
  std::function<absl::StatusOr<std::string>(const crypto::Certificate&)> register_certificate;
  int threads = 1;
  // Work still running then stops with DEADLINE_EXCEEDED; work still
  // running when `cancelled` is set stops with CANCELLED.
  absl::Time deadline = absl::InfiniteFuture();
  const std::atomic<bool>* cancelled = nullptr;
};

absl::Status RunExchangeStep(const StepContext& context);

}  // namespace halo::exchange

#endif  // HALO_SRC_EXCHANGE_STEPS_H_
