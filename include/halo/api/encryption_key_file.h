// The file that holds a party's hybrid-encryption key (an EDP's for
// requisition specs, an MC's for results): two lines, "halo encryption key
// v1" and the P-256 secret scalar in hex. Written with mode 0600, and moved
// into place whole.
#ifndef HALO_API_ENCRYPTION_KEY_FILE_H_
#define HALO_API_ENCRYPTION_KEY_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "halo/crypto/hybrid_encryption.h"

namespace halo::api {

absl::Status WriteEncryptionKeyFile(const std::string& path, const crypto::EncryptionKeyPair& key);
// Refuses a file of another form, or a scalar that is zero or not below the
// group order, naming the file.
absl::StatusOr<crypto::EncryptionKeyPair> ReadEncryptionKeyFile(const std::string& path);

}  // namespace halo::api

#endif  // HALO_API_ENCRYPTION_KEY_FILE_H_
