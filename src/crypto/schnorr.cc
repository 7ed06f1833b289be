#include "halo/crypto/schnorr.h"

#include "absl/strings/str_cat.h"
#include "halo/crypto/sha256.h"

namespace halo::crypto {
namespace {

// The tag keeps a proof from being read as any other hash-derived value, and
// the length prefixes keep (context, key, commitment) unambiguous.
Scalar Challenge(absl::string_view context, const EcPoint& public_key, const EcPoint& commitment) {
  std::string transcript = "halo schnorr key possession v1";
  for (const std::string& part : {std::string(context), public_key.Encode(PointEncoding::kUncompressed),
                                  commitment.Encode(PointEncoding::kUncompressed)}) {
    const uint64_t size = part.size();
    for (int i = 7; i >= 0; --i) transcript.push_back(static_cast<char>(size >> (8 * i)));
    transcript += part;
  }
  // 512 bits reduced modulo n: no measurable bias.
  return Scalar::FromBytesReduced(Sha256(absl::StrCat("0", transcript)) + Sha256(absl::StrCat("1", transcript)));
}

}  // namespace

std::string ProveKeyPossession(const Scalar& secret, const EcPoint& public_key, absl::string_view context) {
  const Scalar nonce = Scalar::Random();
  const Scalar c = Challenge(context, public_key, EcPoint::MulGenerator(nonce));
  return c.ToBytes() + nonce.Add(c.Mul(secret)).ToBytes();
}

absl::Status VerifyKeyPossession(const EcPoint& public_key, absl::string_view proof, absl::string_view context) {
  if (proof.size() != kSchnorrProofBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a proof of key possession is ", kSchnorrProofBytes, " bytes, not ", proof.size()));
  }
  if (public_key.IsIdentity()) return absl::InvalidArgumentError("the key is the point at infinity");
  auto c = Scalar::FromBytes(proof.substr(0, 32));
  auto s = Scalar::FromBytes(proof.substr(32));
  if (!c.ok() || !s.ok()) return absl::InvalidArgumentError("the proof of key possession holds a value >= n");
  // s*G - c*Y is the prover's commitment k*G exactly when s = k + c*x.
  const EcPoint commitment = public_key.MulAddGenerator(*s, c->Negate());
  if (!(Challenge(context, public_key, commitment) == *c)) {
    return absl::InvalidArgumentError("the proof of key possession does not verify for this key and context");
  }
  return absl::OkStatus();
}

}  // namespace halo::crypto
