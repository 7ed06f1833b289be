#include "halo/exchange/exchange_storage.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "halo/api/certificate_name.h"
#include "testing/temp_dir.h"

namespace halo::exchange {
namespace {

constexpr char kDataProvider[] = "dataProviders/edp1";
constexpr char kModelProvider[] = "modelProviders/mp1";

// Each party's root, a key and a certificate from it; the lookup the
// daemons use resolves both certificates by name.
struct Parties {
  Parties() {
    for (const char* party : {kDataProvider, kModelProvider}) {
      auto root = *crypto::CertificateAuthority::Create(absl::StrCat(party, " root"), absl::Hours(1));
      crypto::SigningKey key = crypto::SigningKey::Generate();
      crypto::CertificateRequest request;
      request.subject_name = party;
      request.validity = absl::Hours(1);
      request.use = crypto::CertificateUse::kContentSigning;
      crypto::Certificate certificate = *root.Issue(request, key.verifying_key());
      const std::string name = api::CertificateName(party, certificate);
      names[party] = name;
      // Its TLS certificate, which the Kingdom has registered too.
      request.use = crypto::CertificateUse::kTls;
      const crypto::SigningKey tls_key = crypto::SigningKey::Generate();
      crypto::Certificate tls = *root.Issue(request, tls_key.verifying_key());
      tls_names[party] = api::CertificateName(party, tls);
      tls_keys.emplace(party, tls_key);
      certificates.emplace(tls_names[party], std::move(tls));
      keys.emplace(party, std::move(key));
      certificates.emplace(name, std::move(certificate));
    }
  }
  SignedStorage For(ExchangeStorage& storage, const std::string& party) {
    return SignedStorage(storage, keys.at(party), names.at(party), [this](const std::string& name) {
      auto it = certificates.find(name);
      if (it == certificates.end()) return absl::StatusOr<crypto::Certificate>(absl::NotFoundError(name));
      return absl::StatusOr<crypto::Certificate>(it->second);
    });
  }
  std::map<std::string, std::string> names, tls_names;
  std::map<std::string, crypto::SigningKey> keys, tls_keys;
  std::map<std::string, crypto::Certificate> certificates;
};

TEST_CASE("A shared blob is accepted only when signed by the party the workflow says writes it") {
  testing::TempDir dir;
  auto files = FileSystemStorage(dir.Sub("shared"));
  REQUIRE(files.ok());
  Parties parties;
  SignedStorage dp = parties.For(**files, kDataProvider);
  SignedStorage mp = parties.For(**files, kModelProvider);
  REQUIRE(dp.Write("x/2026-12-07/dp-single", "points").ok());
  CHECK(*mp.Read("x/2026-12-07/dp-single", kDataProvider, 1 << 20) == "points");
  // The model provider overwrites, with its own valid signature, a blob the
  // workflow says the data provider writes.
  REQUIRE(mp.Write("x/2026-12-07/dp-single", "planted").ok());
  const auto planted = dp.Read("x/2026-12-07/dp-single", kDataProvider, 1 << 20);
  CHECK(planted.status().code() == absl::StatusCode::kPermissionDenied);
  CHECK_THAT(std::string(planted.status().message()),
             Catch::Contains("dp-single") && Catch::Contains(kModelProvider) && Catch::Contains("not by " +
                                                                                                  std::string(kDataProvider)));
}

TEST_CASE("A shared blob signed with its producer's TLS key is refused") {
  testing::TempDir dir;
  auto files = FileSystemStorage(dir.Sub("shared"));
  REQUIRE(files.ok());
  Parties parties;
  SignedStorage dp = parties.For(**files, kDataProvider);
  REQUIRE(dp.Write("x/d/blob", "points", parties.tls_keys.at(kDataProvider), parties.tls_names.at(kDataProvider)).ok());
  const auto refused = parties.For(**files, kModelProvider).Read("x/d/blob", kDataProvider, 1 << 20);
  CHECK(refused.status().code() == absl::StatusCode::kPermissionDenied);
  CHECK_THAT(std::string(refused.status().message()), Catch::Contains("not a content-signing certificate"));
}

TEST_CASE("A shared blob or signature over the bound is refused before it is read") {
  testing::TempDir dir;
  auto files = FileSystemStorage(dir.Sub("shared"));
  REQUIRE(files.ok());
  Parties parties;
  SignedStorage dp = parties.For(**files, kDataProvider);
  REQUIRE(dp.Write("x/d/blob", std::string(1000, 'p')).ok());
  CHECK(dp.Read("x/d/blob", kDataProvider, 999).status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(dp.Read("x/d/blob", kDataProvider, 1000).ok());
  {
    std::ofstream signature(dir.Sub("shared/x/d/blob.signature"), std::ios::binary | std::ios::trunc);
    signature << std::string(100 * 1024, 's');
  }
  const auto padded = dp.Read("x/d/blob", kDataProvider, 1000);
  CHECK(padded.status().code() == absl::StatusCode::kPermissionDenied);
  CHECK_THAT(std::string(padded.status().message()), Catch::Contains("blob.signature"));
}

TEST_CASE("A partner's link planted in shared storage is neither read through nor written through") {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.Sub("private"));
  {
    std::ofstream key(dir.Sub("private/key"));
    key << "secret";
  }
  auto files = FileSystemStorage(dir.Sub("shared"));
  REQUIRE(files.ok());
  std::filesystem::create_directories(dir.Sub("shared/x"));
  std::filesystem::create_symlink(dir.Sub("private"), dir.Sub("shared/x/d"));
  Parties parties;
  SignedStorage dp = parties.For(**files, kDataProvider);
  const auto read = dp.Read("x/d/key", kDataProvider, 1 << 20);
  CHECK(read.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(read.status().message()), Catch::Contains("symbolic link"));
  CHECK_FALSE(dp.Write("x/d/key", "overwritten").ok());
  std::ifstream key(dir.Sub("private/key"));
  std::string bytes;
  key >> bytes;
  CHECK(bytes == "secret");
}

}  // namespace
}  // namespace halo::exchange
