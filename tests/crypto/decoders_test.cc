// Every decoder of bytes from another party, fed truncated, oversized, random
// and off-curve input: each is refused with a reason, and nothing crashes.
#include <catch2/catch.hpp>
#include <functional>

#include "absl/strings/ascii.h"
#include "halo/common/hex.h"
#include "halo/crypto/aead.h"
#include "halo/crypto/certificate.h"
#include "halo/crypto/commutative_cipher.h"
#include "halo/crypto/elgamal.h"
#include "halo/crypto/hybrid_encryption.h"
#include "halo/crypto/random.h"
#include "halo/crypto/seeded_prng.h"

namespace halo::crypto {
namespace {

struct Decoder {
  std::string name;
  std::string valid;
  // Returns the decoded value re-encoded, or the refusal.
  std::function<absl::StatusOr<std::string>(absl::string_view)> decode;
  bool check_oversized = true;
};

template <typename T>
absl::StatusOr<std::string> Reencode(const absl::StatusOr<T>& value,
                                     const std::function<std::string(const T&)>& encode) {
  if (!value.ok()) return value.status();
  return encode(*value);
}

std::vector<Decoder> AllDecoders() {
  const ElGamalKeyPair elgamal = ElGamalKeyPair::Generate();
  const CommutativeCipher cipher = CommutativeCipher::Generate();
  const EncryptionKeyPair recipient = EncryptionKeyPair::Generate();
  const std::string blob_key(kAeadKeyBytes, 'k');
  const SigningKey signing = SigningKey::Generate();
  const auto ca = *CertificateAuthority::Create("ca", absl::Hours(1));
  const auto cert = *ca.Issue({.subject_name = "dataProviders/edp1"}, signing.verifying_key());

  std::vector<Decoder> decoders;
  for (PointEncoding encoding : {PointEncoding::kCompressed, PointEncoding::kUncompressed}) {
    decoders.push_back({"EcPoint::Decode", EcPoint::MulGenerator(Scalar::Random()).Encode(encoding),
                        [encoding](absl::string_view b) {
                          return Reencode<EcPoint>(EcPoint::Decode(b),
                                                   [&](const EcPoint& p) { return p.Encode(encoding); });
                        }});
    decoders.push_back({"ElGamalCiphertext::Decode",
                        elgamal.public_key().EncryptInteger(5).Encode(encoding),
                        [encoding](absl::string_view b) {
                          return Reencode<ElGamalCiphertext>(
                              ElGamalCiphertext::Decode(b),
                              [&](const ElGamalCiphertext& c) { return c.Encode(encoding); });
                        }});
  }
  decoders.push_back({"ElGamalPublicKey::Decode", elgamal.public_key().Encode(), [](absl::string_view b) {
                        return Reencode<ElGamalPublicKey>(ElGamalPublicKey::Decode(b),
                                                          [](const ElGamalPublicKey& k) { return k.Encode(); });
                      }});
  decoders.push_back({"CommutativeCipher::ReEncrypt", *cipher.Encrypt("id"),
                      [cipher](absl::string_view b) { return cipher.ReEncrypt(b); }});
  decoders.push_back({"CommutativeCipher::FromKeyBytes", cipher.KeyBytes(), [](absl::string_view b) {
                        return Reencode<CommutativeCipher>(CommutativeCipher::FromKeyBytes(b),
                                                           [](const CommutativeCipher& c) { return c.KeyBytes(); });
                      }});
  decoders.push_back({"VerifyingKey::FromSubjectPublicKeyInfo", signing.verifying_key().ToSubjectPublicKeyInfo(),
                      [](absl::string_view b) {
                        return Reencode<VerifyingKey>(VerifyingKey::FromSubjectPublicKeyInfo(b),
                                                      [](const VerifyingKey& k) { return k.ToSubjectPublicKeyInfo(); });
                      }});
  decoders.push_back({"Certificate::FromDer", cert.ToDer(), [](absl::string_view b) {
                        return Reencode<Certificate>(Certificate::FromDer(b),
                                                     [](const Certificate& c) { return c.ToDer(); });
                      }});
  // PEM readers skip text after the END line, as PEM files carry comments.
  decoders.push_back({"Certificate::FromPem", cert.ToPem(),
                      [](absl::string_view b) {
                        return Reencode<Certificate>(Certificate::FromPem(b),
                                                     [](const Certificate& c) { return c.ToPem(); });
                      },
                      false});
  decoders.push_back({"SigningKey::FromPrivateKeyPem", signing.ToPrivateKeyPem(),
                      [](absl::string_view b) {
                        return Reencode<SigningKey>(SigningKey::FromPrivateKeyPem(b),
                                                    [](const SigningKey& k) { return k.ToPrivateKeyPem(); });
                      },
                      false});
  decoders.push_back({"HybridDecrypt", *HybridEncrypt(recipient.public_key, "spec", "ctx"),
                      [recipient](absl::string_view b) { return HybridDecrypt(recipient, b, "ctx"); }});
  decoders.push_back({"OpenBlob", *SealBlob(blob_key, "sketch", "ad"),
                      [blob_key](absl::string_view b) { return OpenBlob(blob_key, b, "ad"); }});
  decoders.push_back({"SeededPrng::Create", SeededPrng::GenerateSeed(), [](absl::string_view b) {
                        auto prng = SeededPrng::Create(b);
                        if (!prng.ok()) return absl::StatusOr<std::string>(prng.status());
                        return absl::StatusOr<std::string>(std::string(b));
                      }});
  decoders.push_back({"Scalar::FromBytes", Scalar::Random().ToBytes(), [](absl::string_view b) {
                        return Reencode<Scalar>(Scalar::FromBytes(b), [](const Scalar& s) { return s.ToBytes(); });
                      }});
  decoders.push_back({"HexDecode", "00ff10", [](absl::string_view b) { return HexDecode(b); }});
  return decoders;
}

void ExpectRefused(const Decoder& decoder, absl::string_view input, const char* kind) {
  auto result = decoder.decode(input);
  INFO(decoder.name << ", " << kind << " input of " << input.size() << " bytes");
  REQUIRE_FALSE(result.ok());
  CHECK_FALSE(result.status().message().empty());
}

TEST_CASE("Every decoder accepts its valid input") {
  for (const Decoder& decoder : AllDecoders()) {
    INFO(decoder.name);
    CHECK(decoder.decode(decoder.valid).ok());
  }
}

TEST_CASE("Every decoder refuses truncated input") {
  for (const Decoder& decoder : AllDecoders()) {
    const size_t step = std::max<size_t>(1, decoder.valid.size() / 64);
    for (size_t length = 0; length < decoder.valid.size(); length += step) {
      if (decoder.name == "HexDecode" && length % 2 == 0) continue;  // shorter valid hex
      // Dropping only a trailing newline leaves a PEM file intact.
      if (absl::StripTrailingAsciiWhitespace(decoder.valid.substr(0, length)).size() ==
          absl::StripTrailingAsciiWhitespace(decoder.valid).size()) {
        continue;
      }
      ExpectRefused(decoder, decoder.valid.substr(0, length), "truncated");
    }
  }
}

TEST_CASE("Every decoder refuses oversized input") {
  for (const Decoder& decoder : AllDecoders()) {
    if (!decoder.check_oversized || decoder.name == "HexDecode") continue;
    ExpectRefused(decoder, decoder.valid + "\x01", "oversized");
    ExpectRefused(decoder, decoder.valid + std::string(1000, '\x7f'), "oversized");
  }
  ExpectRefused(AllDecoders().back(), "00ff1", "odd-length");
}

TEST_CASE("Random input is refused, or is the canonical encoding of what it decodes to") {
  // Seeded, so that the test is the same on every run.
  SeededPrng inputs = *SeededPrng::Create(std::string(32, 'r'));
  for (const Decoder& decoder : AllDecoders()) {
    // A compressed point's random bytes decode about one time in 256 (a
    // right prefix byte, then an x on the curve): 1,000 tries keep the 2%
    // bound far from what a right decoder reaches.
    int accepted = 0;
    for (int i = 0; i < 1000; ++i) {
      const std::string random = inputs.NextBytes(decoder.valid.size());
      auto result = decoder.decode(random);
      if (!result.ok()) continue;
      ++accepted;
      INFO(decoder.name << " accepted random bytes " << HexEncode(random));
      // Blobs and keys whose every value is valid decode to something else.
      if (decoder.name != "SeededPrng::Create" && decoder.name != "CommutativeCipher::ReEncrypt") {
        CHECK(*result == random);
      }
    }
    INFO(decoder.name << " accepted " << accepted << " of 1,000 random inputs");
    if (decoder.name != "SeededPrng::Create" && decoder.name != "Scalar::FromBytes" &&
        decoder.name != "CommutativeCipher::FromKeyBytes") {
      CHECK(accepted <= 20);
    }
  }
}

TEST_CASE("Point decoders refuse points off the curve") {
  const EcPoint p = EcPoint::MulGenerator(Scalar::Random());
  std::string off_curve = p.Encode(PointEncoding::kUncompressed);
  off_curve[40] ^= 0x10;
  const ElGamalKeyPair key = ElGamalKeyPair::Generate();
  const std::string e = key.public_key().EncryptInteger(1).Encode(PointEncoding::kUncompressed).substr(65);
  for (const Decoder& decoder : AllDecoders()) {
    if (decoder.name == "EcPoint::Decode" && decoder.valid.size() == kUncompressedPointBytes) {
      ExpectRefused(decoder, off_curve, "off-curve");
    }
    if (decoder.name == "ElGamalCiphertext::Decode" && decoder.valid.size() == 130) {
      ExpectRefused(decoder, off_curve + e, "off-curve u");
      ExpectRefused(decoder, e + off_curve, "off-curve e");
    }
  }
  // About half of all x have no point on the curve; those must be refused.
  int refused = 0;
  for (int x = 1; x <= 20; ++x) {
    std::string compressed(kCompressedPointBytes, '\0');
    compressed[0] = 0x02;
    compressed[32] = static_cast<char>(x);
    auto point = EcPoint::Decode(compressed);
    if (point.ok()) {
      CHECK(point->Encode() == compressed);
    } else {
      ++refused;
      CHECK_THAT(std::string(point.status().message()), Catch::Contains("not the coordinate"));
    }
  }
  CHECK(refused >= 3);
}

}  // namespace
}  // namespace halo::crypto
