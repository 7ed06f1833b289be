#include "halo/api/replay_seed.h"

#include "absl/strings/str_cat.h"
#include "halo/crypto/hkdf.h"
#include "halo/crypto/sha256.h"

namespace halo::api {

std::string ReplaySeed(absl::string_view test_seed, absl::string_view party, absl::string_view purpose,
                       const v1::MeasurementSpec& spec, v1::Protocol protocol) {
  if (test_seed.empty()) return "";
  v1::MeasurementSpec content = spec;
  content.clear_measurement_public_key();
  content.clear_nonce_hashes();
  std::string serialized;
  content.SerializeToString(&serialized);
  const std::string info = absl::StrCat(party.size(), ":", party, purpose.size(), ":", purpose,
                                        static_cast<int>(protocol), ":", crypto::Sha256(serialized));
  return *crypto::HkdfSha256(test_seed, "halo replay seed", info, 32);
}

}  // namespace halo::api
