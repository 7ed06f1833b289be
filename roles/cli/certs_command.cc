#include "cli/certs_command.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "cli/report.h"
#include "halo/api/encryption_key_file.h"
#include "halo/common/files.h"
#include "halo/common/hex.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/certificate.h"

namespace halo::cli {
namespace {

struct CreateCaOptions {
  std::string out_dir;
  std::string name = "halo development CA";
  int validity_days = 365;
};

struct IssueOptions {
  std::string ca_dir;
  std::string subject;
  std::string out_prefix;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  int validity_days = 365;
  bool signing = false;
};

absl::Status CreateCa(const CreateCaOptions& options) {
  ASSIGN_OR_RETURN(crypto::CertificateAuthority ca,
                   crypto::CertificateAuthority::Create(options.name,
                                                        absl::Hours(24 * options.validity_days)));
  RETURN_IF_ERROR(WriteFileAtomically(options.out_dir + "/ca.pem", ca.certificate().ToPem()));
  RETURN_IF_ERROR(WriteFileAtomically(options.out_dir + "/ca.key", ca.key().ToPrivateKeyPem(), 0600));
  std::cout << "wrote " << options.out_dir << "/ca.pem and " << options.out_dir << "/ca.key\n";
  return absl::OkStatus();
}

absl::Status Issue(const IssueOptions& options) {
  ASSIGN_OR_RETURN(std::string ca_pem, ReadFile(options.ca_dir + "/ca.pem"));
  ASSIGN_OR_RETURN(std::string ca_key, ReadSecretFile(options.ca_dir + "/ca.key", "CA key file"));
  absl::StatusOr<crypto::CertificateAuthority> loaded = crypto::CertificateAuthority::Load(ca_pem, ca_key);
  WipeSecret(ca_key);
  ASSIGN_OR_RETURN(crypto::CertificateAuthority ca, std::move(loaded));
  const crypto::SigningKey key = crypto::SigningKey::Generate();
  crypto::CertificateRequest request;
  request.subject_name = options.subject;
  request.dns_names = options.dns_names;
  request.ip_addresses = options.ip_addresses;
  request.validity = absl::Hours(24 * options.validity_days);
  if (options.signing) request.use = crypto::CertificateUse::kContentSigning;
  ASSIGN_OR_RETURN(crypto::Certificate certificate, ca.Issue(request, key.verifying_key()));
  RETURN_IF_ERROR(WriteFileAtomically(options.out_prefix + ".pem", certificate.ToPem()));
  std::string key_pem = key.ToPrivateKeyPem();
  const absl::Status written = WriteFileAtomically(options.out_prefix + ".key", key_pem, 0600);
  WipeSecret(key_pem);
  RETURN_IF_ERROR(written);
  std::cout << "wrote " << options.out_prefix << ".pem and " << options.out_prefix << ".key, a "
            << (options.signing ? "content-signing" : "TLS") << " certificate for " << options.subject
            << "; fingerprint " << certificate.FingerprintHex() << "\n";
  return absl::OkStatus();
}

absl::Status PrintFingerprint(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
  auto certificate = crypto::Certificate::FromPem(pem);
  if (!certificate.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", certificate.status().message()));
  std::cout << certificate->FingerprintHex() << "\n";
  return absl::OkStatus();
}

}  // namespace

void AddCertsCommand(CLI::App& app, int& exit_code) {
  CLI::App* certs = app.add_subcommand(
      "certs", "Make an organisation's root CA and its certificates (every organisation has its own root)");
  certs->require_subcommand(1);

  auto create_ca = std::make_shared<CreateCaOptions>();
  CLI::App* create = certs->add_subcommand("create-ca", "Create a self-signed CA (ca.pem, ca.key)");
  create->add_option("--out", create_ca->out_dir, "Directory to write to")->required();
  create->add_option("--name", create_ca->name, "CA subject name");
  create->add_option("--validity-days", create_ca->validity_days)->check(CLI::PositiveNumber);
  create->callback([create_ca, &exit_code] { exit_code = Report("certs", CreateCa(*create_ca)); });

  auto issue = std::make_shared<IssueOptions>();
  CLI::App* issue_cmd = certs->add_subcommand("issue", "Issue a certificate for a halo resource");
  issue_cmd->add_option("--ca-dir", issue->ca_dir, "Directory with ca.pem and ca.key")->required();
  issue_cmd->add_option("--subject", issue->subject,
                        "Resource name, e.g. dataProviders/edp1 or duchies/worker1")->required();
  issue_cmd->add_option("--out", issue->out_prefix, "Writes OUT.pem and OUT.key")->required();
  issue_cmd->add_option("--dns", issue->dns_names, "DNS name a server answers to (repeatable)");
  issue_cmd->add_option("--ip", issue->ip_addresses, "IP address a server answers on (repeatable)");
  issue_cmd->add_option("--validity-days", issue->validity_days)->check(CLI::PositiveNumber);
  issue_cmd->add_flag("--signing", issue->signing,
                      "A content-signing certificate (specs, results, keys, shared blobs) instead of a TLS one");
  issue_cmd->callback([issue, &exit_code] { exit_code = Report("certs", Issue(*issue)); });

  auto fingerprint = std::make_shared<std::string>();
  CLI::App* fingerprint_cmd = certs->add_subcommand(
      "fingerprint", "Print a certificate's SHA-256 fingerprint, as kingdom.administrator_certificates names it");
  fingerprint_cmd->add_option("--cert", *fingerprint, "The certificate (PEM)")->required();
  fingerprint_cmd->callback([fingerprint, &exit_code] { exit_code = Report("certs", PrintFingerprint(*fingerprint)); });

  auto key_file = std::make_shared<std::string>();
  CLI::App* key_cmd = certs->add_subcommand(
      "encryption-key", "Write a new hybrid-encryption key file (an EDP's for requisition specs, an MC's for results)");
  key_cmd->add_option("--out", *key_file, "The key file to write")->required();
  key_cmd->callback([key_file, &exit_code] {
    const crypto::EncryptionKeyPair key = crypto::EncryptionKeyPair::Generate();
    exit_code = Report("certs", api::WriteEncryptionKeyFile(*key_file, key));
    if (exit_code == 0) std::cout << "wrote " << *key_file << "; public key " << HexEncode(key.public_key.Encode()) << "\n";
  });
}

}  // namespace halo::cli
