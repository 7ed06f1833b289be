#include "steps.h"

#include <atomic>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "halo/common/parallel.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/aead.h"
#include "halo/crypto/commutative_cipher.h"
#include "halo/crypto/hkdf.h"
#include "halo/crypto/random.h"
#include "halo/crypto/signing.h"
#include "halo/exchange/workflow.h"

namespace halo::exchange {
namespace {

using Workflow = api::v1::ExchangeWorkflow;
constexpr size_t kPointBytes = 65;
constexpr crypto::PointEncoding kEncoding = crypto::PointEncoding::kUncompressed;

struct PanelEntry {
  absl::string_view key;
  absl::string_view payload;
};

absl::StatusOr<std::string> ReadInput(const StepContext& c, const std::string& argument) {
  const Workflow::Blob& blob = c.step->inputs().at(argument);
  const std::string name = c.blob_prefix + blob.label();
  if (blob.storage() == Workflow::SHARED) {
    const Workflow::Party writer = SharedBlobWriter(*c.workflow, blob.label());
    return c.shared_storage->Read(name, writer == Workflow::DATA_PROVIDER ? c.data_provider : c.model_provider,
                                  c.maximum_blob_bytes);
  }
  return c.private_storage->Read(name, c.maximum_blob_bytes);
}

absl::Status WriteOutput(const StepContext& c, const std::string& argument, absl::string_view bytes) {
  const Workflow::Blob& blob = c.step->outputs().at(argument);
  const std::string name = c.blob_prefix + blob.label();
  if (blob.storage() == Workflow::SHARED) return c.shared_storage->Write(name, bytes);
  return c.private_storage->Write(name, bytes);
}

// Lines of a panel: "key" or "key\tpayload"; blank lines are skipped.
absl::StatusOr<std::vector<PanelEntry>> ParsePanel(absl::string_view text, absl::string_view what) {
  std::vector<PanelEntry> entries;
  size_t line = 0;
  for (absl::string_view row : absl::StrSplit(text, '\n')) {
    ++line;
    if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
    if (row.empty()) continue;
    const size_t tab = row.find('\t');
    PanelEntry entry{row.substr(0, tab), tab == absl::string_view::npos ? "" : row.substr(tab + 1)};
    if (entry.key.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " line ", line, ": no join key"));
    entries.push_back(entry);
  }
  return entries;
}

absl::StatusOr<std::vector<absl::string_view>> SplitPoints(absl::string_view bytes, absl::string_view what) {
  if (bytes.size() % kPointBytes != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is ", bytes.size(), " bytes, not a whole number of ", kPointBytes, "-byte points"));
  }
  std::vector<absl::string_view> points;
  points.reserve(bytes.size() / kPointBytes);
  for (size_t at = 0; at < bytes.size(); at += kPointBytes) points.push_back(bytes.substr(at, kPointBytes));
  return points;
}

absl::StatusOr<std::vector<uint32_t>> ParseOrder(absl::string_view bytes, size_t entries) {
  if (bytes.size() != 4 * entries) {
    return absl::InvalidArgumentError(absl::StrCat("order has ", bytes.size() / 4, " entries for ", entries, " keys"));
  }
  std::vector<uint32_t> order(entries);
  for (size_t i = 0; i < entries; ++i) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + 4 * i);
    order[i] = p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24;
    if (order[i] >= entries) return absl::InvalidArgumentError(absl::StrCat("order entry ", i, " is out of range"));
  }
  return order;
}

void AppendUint32(std::string& out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
}

absl::StatusOr<crypto::CommutativeCipher> ReadKey(const StepContext& c) {
  ASSIGN_OR_RETURN(std::string key, ReadInput(c, "key"));
  absl::StatusOr<crypto::CommutativeCipher> cipher = crypto::CommutativeCipher::FromKeyBytes(key);
  if (!cipher.ok()) return absl::DataLossError(absl::StrCat("the key blob: ", cipher.status().message()));
  return cipher;
}

// Applies `transform` to every item on the step's threads, each result
// `width` bytes, checking the deadline as it goes.
absl::StatusOr<std::string> Transform(const StepContext& c, size_t count, size_t width,
                                      const std::function<absl::StatusOr<std::string>(size_t)>& transform) {
  std::string out(count * width, '\0');
  absl::Mutex mutex;
  absl::Status first_error;
  std::atomic<bool> failed{false};
  ParallelFor(count, c.threads, [&](size_t begin, size_t end) {
    if (failed.load(std::memory_order_relaxed)) return;
    const bool cancelled = c.cancelled != nullptr && c.cancelled->load();
    if (cancelled || absl::Now() > c.deadline) {
      absl::MutexLock lock(&mutex);
      if (first_error.ok()) {
        first_error = cancelled ? absl::CancelledError("the daemon is stopping")
                                : absl::DeadlineExceededError("the step ran past its timeout");
      }
      failed = true;
      return;
    }
    for (size_t i = begin; i < end; ++i) {
      absl::StatusOr<std::string> item = transform(i);
      if (!item.ok() || item->size() != width) {
        absl::MutexLock lock(&mutex);
        if (first_error.ok()) {
          first_error = item.ok() ? absl::InternalError("a transformed item has the wrong size")
                                  : absl::InvalidArgumentError(absl::StrCat("item ", i, ": ", item.status().message()));
        }
        failed = true;
        return;
      }
      std::memcpy(out.data() + i * width, item->data(), width);
    }
  });
  RETURN_IF_ERROR(first_error);
  return out;
}

// A certificate's private key, beside the blob that names the certificate.
std::string SigningKeyBlob(const StepContext& c, const Workflow::Blob& certificate) {
  return absl::StrCat(c.blob_prefix, certificate.label(), ".signing-key");
}

// A fresh key and a certificate for it from the party's CA, registered with
// the Kingdom, so that this exchange's shared blobs can be signed with a
// key used for nothing else. The key is written before the certificate's
// name: a crash between the two leaves a key no step reads, and the retry
// mints another.
absl::Status GenerateCertificate(const StepContext& c) {
  if (c.certificate_authority == nullptr || !c.register_certificate) {
    return absl::InvalidArgumentError(
        "generate_certificate needs the party's CA: set exchange_daemon.certificate_authority");
  }
  const crypto::SigningKey key = crypto::SigningKey::Generate();
  crypto::CertificateRequest request;
  request.subject_name = c.party;
  request.validity = absl::Hours(24 * 90);  // outlives the exchange's retries and its audit
  request.use = crypto::CertificateUse::kContentSigning;
  ASSIGN_OR_RETURN(crypto::Certificate certificate, c.certificate_authority->Issue(request, key.verifying_key()));
  ASSIGN_OR_RETURN(std::string name, c.register_certificate(certificate));
  RETURN_IF_ERROR(c.private_storage->Write(SigningKeyBlob(c, c.step->outputs().at("certificate")),
                                           key.ToPrivateKeyPem()));
  return WriteOutput(c, "certificate", name);
}

// Copies a private blob to shared storage, signed with the certificate the
// step names, or with the party's own.
absl::Status CopyToShared(const StepContext& c) {
  ASSIGN_OR_RETURN(std::string bytes, ReadInput(c, "blob"));
  const Workflow::Blob& out = c.step->outputs().at("blob");
  const std::string name = c.blob_prefix + out.label();
  if (!c.step->inputs().contains("certificate")) return c.shared_storage->Write(name, bytes);
  ASSIGN_OR_RETURN(std::string certificate, ReadInput(c, "certificate"));
  ASSIGN_OR_RETURN(std::string key_pem,
                   c.private_storage->Read(SigningKeyBlob(c, c.step->inputs().at("certificate")),
                                           c.maximum_blob_bytes));
  absl::StatusOr<crypto::SigningKey> key = crypto::SigningKey::FromPrivateKeyPem(key_pem);
  if (!key.ok()) return absl::DataLossError(absl::StrCat("the key of ", certificate, ": ", key.status().message()));
  return c.shared_storage->Write(name, bytes, *key, certificate);
}

absl::Status Input(const StepContext& c) {
  const std::string& path = c.step->input().path();
  absl::StatusOr<std::string> content = c.input_dir->Read(path, c.maximum_blob_bytes);  // the entries point into it
  if (!content.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the panel file in ", c.input_dir->root(), ": ", content.status().message()));
  }
  ASSIGN_OR_RETURN(std::vector<PanelEntry> entries, ParsePanel(*content, path));
  std::string normalized;
  for (const PanelEntry& e : entries) {
    absl::StrAppend(&normalized, e.key, e.payload.empty() ? "" : "\t", e.payload, "\n");
  }
  return WriteOutput(c, "join_keys", normalized);
}

absl::Status Encrypt(const StepContext& c) {
  ASSIGN_OR_RETURN(std::string text, ReadInput(c, "join_keys"));
  ASSIGN_OR_RETURN(std::vector<PanelEntry> entries, ParsePanel(text, "join_keys"));
  ASSIGN_OR_RETURN(crypto::CommutativeCipher cipher, ReadKey(c));
  // A secret random order, so the other party learns nothing from the
  // order of the panel file.
  std::vector<uint32_t> order(entries.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  const std::unique_ptr<crypto::RandomSource> random = crypto::NewSecureRandomSource();
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[random->UniformBelow(i)]);
  ASSIGN_OR_RETURN(std::string encrypted, Transform(c, entries.size(), kPointBytes, [&](size_t i) {
                     return cipher.Encrypt(entries[order[i]].key, kEncoding);
                   }));
  std::string order_bytes;
  order_bytes.reserve(4 * order.size());
  for (uint32_t o : order) AppendUint32(order_bytes, o);
  RETURN_IF_ERROR(WriteOutput(c, "order", order_bytes));
  return WriteOutput(c, "encrypted", encrypted);
}

absl::Status ReEncryptOrDecrypt(const StepContext& c, bool decrypt) {
  const int64_t maximum_keys = decrypt ? c.step->commutative_decrypt().maximum_keys()
                                       : c.step->commutative_reencrypt().maximum_keys();
  ASSIGN_OR_RETURN(std::string bytes, ReadInput(c, "encrypted"));
  if (bytes.size() / kPointBytes > static_cast<uint64_t>(maximum_keys)) {
    return absl::InvalidArgumentError(absl::StrCat("encrypted holds ", bytes.size() / kPointBytes,
                                                   " points, more than the agreed maximum_keys ", maximum_keys));
  }
  ASSIGN_OR_RETURN(std::vector<absl::string_view> points, SplitPoints(bytes, "encrypted"));
  ASSIGN_OR_RETURN(crypto::CommutativeCipher cipher, ReadKey(c));
  ASSIGN_OR_RETURN(std::string out, Transform(c, points.size(), kPointBytes, [&](size_t i) {
                     return decrypt ? cipher.Decrypt(points[i], kEncoding) : cipher.ReEncrypt(points[i], kEncoding);
                   }));
  return WriteOutput(c, decrypt ? "decrypted" : "reencrypted", out);
}

// Our entries in encrypted order: the points of "ours" with the panel line
// each stands for.
struct Ours {
  std::string panel_text;
  std::string points_bytes;
  std::vector<PanelEntry> panel;
  std::vector<absl::string_view> points;
  std::vector<uint32_t> order;
};

absl::StatusOr<std::unique_ptr<Ours>> ReadOurs(const StepContext& c) {
  auto ours = std::make_unique<Ours>();
  ASSIGN_OR_RETURN(ours->panel_text, ReadInput(c, "join_keys"));
  ASSIGN_OR_RETURN(ours->panel, ParsePanel(ours->panel_text, "join_keys"));
  ASSIGN_OR_RETURN(ours->points_bytes, ReadInput(c, "ours"));
  ASSIGN_OR_RETURN(ours->points, SplitPoints(ours->points_bytes, "ours"));
  if (ours->points.size() != ours->panel.size()) {
    return absl::InvalidArgumentError(absl::StrCat("ours has ", ours->points.size(), " points for ",
                                                   ours->panel.size(), " join keys"));
  }
  ASSIGN_OR_RETURN(std::string order, ReadInput(c, "order"));
  ASSIGN_OR_RETURN(ours->order, ParseOrder(order, ours->panel.size()));
  return ours;
}

absl::Status IntersectAndValidate(const StepContext& c) {
  const auto& rules = c.step->intersect_and_validate();
  ASSIGN_OR_RETURN(std::unique_ptr<Ours> ours, ReadOurs(c));
  ASSIGN_OR_RETURN(std::string theirs_bytes, ReadInput(c, "theirs"));
  ASSIGN_OR_RETURN(std::vector<absl::string_view> theirs, SplitPoints(theirs_bytes, "theirs"));
  for (auto [what, size] : {std::pair{"ours", ours->points.size()}, std::pair{"theirs", theirs.size()}}) {
    if (rules.maximum_keys() > 0 && static_cast<int64_t>(size) > rules.maximum_keys()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " holds ", size, " keys, more than maximum_keys ", rules.maximum_keys()));
    }
  }
  absl::flat_hash_set<absl::string_view> their_set(theirs.begin(), theirs.end());
  if (their_set.size() != theirs.size()) {
    return absl::InvalidArgumentError("theirs holds a point twice: its join keys are not distinct");
  }
  std::string matched;
  int64_t overlap = 0;
  for (size_t i = 0; i < ours->points.size(); ++i) {
    if (!their_set.contains(ours->points[i])) continue;
    ++overlap;
    absl::StrAppend(&matched, ours->panel[ours->order[i]].key, "\n");
  }
  if (overlap < rules.minimum_overlap()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the overlap is ", overlap, " keys, below minimum_overlap ", rules.minimum_overlap()));
  }
  return WriteOutput(c, "matched", matched);
}

// The AEAD key of a join key's payload: only a holder of the join key can
// derive it.
absl::StatusOr<std::string> PayloadKey(absl::string_view join_key, absl::string_view lookup) {
  return crypto::HkdfSha256(join_key, "halo exchange payload v1", lookup, crypto::kAeadKeyBytes);
}

absl::Status EncryptPayloads(const StepContext& c) {
  ASSIGN_OR_RETURN(std::unique_ptr<Ours> ours, ReadOurs(c));
  std::vector<std::string> sealed(ours->points.size());
  absl::Mutex mutex;
  absl::Status first_error;
  ParallelFor(ours->points.size(), c.threads, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      const PanelEntry& entry = ours->panel[ours->order[i]];
      absl::StatusOr<std::string> key = PayloadKey(entry.key, ours->points[i]);
      absl::StatusOr<std::string> box =
          key.ok() ? crypto::SealBlob(*key, entry.payload, ours->points[i]) : key.status();
      if (!box.ok()) {
        absl::MutexLock lock(&mutex);
        first_error.Update(box.status());
        return;
      }
      sealed[i] = *std::move(box);
    }
  });
  RETURN_IF_ERROR(first_error);
  std::string out;
  for (size_t i = 0; i < sealed.size(); ++i) {
    absl::StrAppend(&out, ours->points[i]);
    AppendUint32(out, static_cast<uint32_t>(sealed[i].size()));
    out += sealed[i];
  }
  return WriteOutput(c, "encrypted_payloads", out);
}

absl::Status DecryptPayloads(const StepContext& c) {
  ASSIGN_OR_RETURN(std::unique_ptr<Ours> ours, ReadOurs(c));
  ASSIGN_OR_RETURN(std::string records, ReadInput(c, "encrypted_payloads"));
  absl::flat_hash_map<absl::string_view, absl::string_view> boxes;
  for (size_t at = 0; at < records.size();) {
    if (records.size() - at < kPointBytes + 4) return absl::InvalidArgumentError("encrypted_payloads is truncated");
    const absl::string_view lookup = absl::string_view(records).substr(at, kPointBytes);
    const auto* p = reinterpret_cast<const unsigned char*>(records.data() + at + kPointBytes);
    const size_t length = p[0] | p[1] << 8 | p[2] << 16 | static_cast<size_t>(p[3]) << 24;
    at += kPointBytes + 4;
    if (records.size() - at < length) return absl::InvalidArgumentError("encrypted_payloads is truncated");
    boxes[lookup] = absl::string_view(records).substr(at, length);
    at += length;
  }
  std::string out;
  for (size_t i = 0; i < ours->points.size(); ++i) {
    auto box = boxes.find(ours->points[i]);
    if (box == boxes.end()) continue;
    const PanelEntry& entry = ours->panel[ours->order[i]];
    ASSIGN_OR_RETURN(std::string key, PayloadKey(entry.key, ours->points[i]));
    absl::StatusOr<std::string> payload = crypto::OpenBlob(key, box->second, ours->points[i]);
    if (!payload.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("the payload of a matched key does not open: ",
                                                     payload.status().message()));
    }
    absl::StrAppend(&out, entry.key, "\t", *payload, "\n");
  }
  return WriteOutput(c, "payloads", out);
}

absl::Status WriteOutputFile(const StepContext& c) {
  ASSIGN_OR_RETURN(std::string matched, ReadInput(c, "matched"));
  std::string body = matched;
  if (c.step->inputs().contains("payloads")) {
    ASSIGN_OR_RETURN(body, ReadInput(c, "payloads"));
  }
  ASSIGN_OR_RETURN(std::vector<PanelEntry> keys, ParsePanel(matched, "matched"));
  ASSIGN_OR_RETURN(std::vector<PanelEntry> rows, ParsePanel(body, "payloads"));
  const std::string& path = c.step->write_output().path();
  RETURN_IF_ERROR(c.output_dir->Write(path, body));
  return c.output_dir->Write(path + ".summary",
                             absl::StrCat("matched_keys: ", keys.size(), "\npayloads: ",
                                          c.step->inputs().contains("payloads") ? rows.size() : 0, "\n"));
}

}  // namespace

absl::Status RunExchangeStep(const StepContext& c) {
  using Step = Workflow::Step;
  switch (c.step->kind_case()) {
    case Step::kInput:
      return Input(c);
    case Step::kGenerateCommutativeKey:
      return WriteOutput(c, "key", crypto::CommutativeCipher::Generate().KeyBytes());
    case Step::kGenerateCertificate:
      return GenerateCertificate(c);
    case Step::kCommutativeEncrypt:
      return Encrypt(c);
    case Step::kCommutativeReencrypt:
      return ReEncryptOrDecrypt(c, false);
    case Step::kCommutativeDecrypt:
      return ReEncryptOrDecrypt(c, true);
    case Step::kCopyToSharedStorage:
      return CopyToShared(c);
    case Step::kCopyFromSharedStorage: {
      ASSIGN_OR_RETURN(std::string bytes, ReadInput(c, "blob"));
      return WriteOutput(c, "blob", bytes);
    }
    case Step::kIntersectAndValidate:
      return IntersectAndValidate(c);
    case Step::kEncryptPayloads:
      return EncryptPayloads(c);
    case Step::kDecryptPayloads:
      return DecryptPayloads(c);
    case Step::kWriteOutput:
      return WriteOutputFile(c);
    case Step::KIND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("the step has no kind");
}

}  // namespace halo::exchange
