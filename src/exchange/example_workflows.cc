#include "halo/exchange/example_workflows.h"

#include <string>

namespace halo::exchange {
namespace {

using Workflow = api::v1::ExchangeWorkflow;

// The most keys either panel may hold: what each party agrees to work on.
constexpr int64_t kMaximumKeys = 100'000'000;

class Builder {
 public:
  Workflow::Step& Add(const std::string& id, Workflow::Party party) {
    Workflow::Step& step = *workflow_.add_steps();
    step.set_step_id(id);
    step.set_party(party);
    return step;
  }
  static void In(Workflow::Step& step, const std::string& argument, const std::string& label,
                 Workflow::Storage storage = Workflow::PRIVATE) {
    Set((*step.mutable_inputs())[argument], label, storage);
  }
  static void Out(Workflow::Step& step, const std::string& argument, const std::string& label,
                  Workflow::Storage storage = Workflow::PRIVATE) {
    Set((*step.mutable_outputs())[argument], label, storage);
  }
  Workflow Build() { return workflow_; }

 private:
  static void Set(Workflow::Blob& blob, const std::string& label, Workflow::Storage storage) {
    blob.set_label(label);
    blob.set_storage(storage);
  }
  Workflow workflow_;
};

// The PSI steps of both parties; each ends with "{p}-matched".
void AddIntersection(Builder& b) {
  for (const auto& [p, party, o] : {std::tuple<std::string, Workflow::Party, std::string>{"dp", Workflow::DATA_PROVIDER, "mp"},
                                    {"mp", Workflow::MODEL_PROVIDER, "dp"}}) {
    auto& input = b.Add(p + "-input", party);
    input.mutable_input()->set_path("panel.txt");
    Builder::Out(input, "join_keys", p + "-keys");
    auto& key = b.Add(p + "-generate-key", party);
    key.mutable_generate_commutative_key();
    Builder::Out(key, "key", p + "-key");
    auto& encrypt = b.Add(p + "-encrypt", party);
    encrypt.mutable_commutative_encrypt();
    Builder::In(encrypt, "join_keys", p + "-keys");
    Builder::In(encrypt, "key", p + "-key");
    Builder::Out(encrypt, "encrypted", p + "-single");
    Builder::Out(encrypt, "order", p + "-order");
    auto& share = b.Add(p + "-share-single", party);
    share.mutable_copy_to_shared_storage();
    Builder::In(share, "blob", p + "-single");
    Builder::Out(share, "blob", p + "-single", Workflow::SHARED);
    auto& fetch = b.Add(p + "-fetch-" + o + "-single", party);
    fetch.mutable_copy_from_shared_storage();
    Builder::In(fetch, "blob", o + "-single", Workflow::SHARED);
    Builder::Out(fetch, "blob", o + "-single");
    auto& reencrypt = b.Add(p + "-reencrypt-" + o, party);
    reencrypt.mutable_commutative_reencrypt()->set_maximum_keys(kMaximumKeys);
    Builder::In(reencrypt, "encrypted", o + "-single");
    Builder::In(reencrypt, "key", p + "-key");
    Builder::Out(reencrypt, "reencrypted", o + "-double");
    auto& share_double = b.Add(p + "-share-" + o + "-double", party);
    share_double.mutable_copy_to_shared_storage();
    Builder::In(share_double, "blob", o + "-double");
    Builder::Out(share_double, "blob", o + "-double", Workflow::SHARED);
    auto& fetch_double = b.Add(p + "-fetch-" + p + "-double", party);
    fetch_double.mutable_copy_from_shared_storage();
    Builder::In(fetch_double, "blob", p + "-double", Workflow::SHARED);
    Builder::Out(fetch_double, "blob", p + "-double");
    auto& intersect = b.Add(p + "-intersect", party);
    intersect.mutable_intersect_and_validate()->set_minimum_overlap(1);
    intersect.mutable_intersect_and_validate()->set_maximum_keys(kMaximumKeys);
    Builder::In(intersect, "ours", p + "-double");
    Builder::In(intersect, "theirs", o + "-double");
    Builder::In(intersect, "join_keys", p + "-keys");
    Builder::In(intersect, "order", p + "-order");
    Builder::Out(intersect, "matched", p + "-matched");
  }
}

}  // namespace

Workflow MiniExchangeWorkflow() {
  Builder b;
  AddIntersection(b);
  for (const auto& [p, party] : {std::pair<std::string, Workflow::Party>{"dp", Workflow::DATA_PROVIDER},
                                 {"mp", Workflow::MODEL_PROVIDER}}) {
    auto& output = b.Add(p + "-output", party);
    output.mutable_write_output()->set_path("matched.txt");
    Builder::In(output, "matched", p + "-matched");
  }
  return b.Build();
}

Workflow FullExchangeWorkflow() {
  Builder b;
  AddIntersection(b);
  auto& seal = b.Add("dp-encrypt-payloads", Workflow::DATA_PROVIDER);
  seal.mutable_encrypt_payloads();
  Builder::In(seal, "join_keys", "dp-keys");
  Builder::In(seal, "order", "dp-order");
  Builder::In(seal, "ours", "dp-double");
  Builder::Out(seal, "encrypted_payloads", "dp-sealed-payloads");
  auto& share = b.Add("dp-share-payloads", Workflow::DATA_PROVIDER);
  share.mutable_copy_to_shared_storage();
  Builder::In(share, "blob", "dp-sealed-payloads");
  Builder::Out(share, "blob", "dp-sealed-payloads", Workflow::SHARED);
  auto& fetch = b.Add("mp-fetch-payloads", Workflow::MODEL_PROVIDER);
  fetch.mutable_copy_from_shared_storage();
  Builder::In(fetch, "blob", "dp-sealed-payloads", Workflow::SHARED);
  Builder::Out(fetch, "blob", "dp-sealed-payloads");
  auto& open = b.Add("mp-decrypt-payloads", Workflow::MODEL_PROVIDER);
  open.mutable_decrypt_payloads();
  Builder::In(open, "encrypted_payloads", "dp-sealed-payloads");
  Builder::In(open, "join_keys", "mp-keys");
  Builder::In(open, "order", "mp-order");
  Builder::In(open, "ours", "mp-double");
  Builder::Out(open, "payloads", "mp-payloads");
  auto& dp_output = b.Add("dp-output", Workflow::DATA_PROVIDER);
  dp_output.mutable_write_output()->set_path("matched.txt");
  Builder::In(dp_output, "matched", "dp-matched");
  auto& mp_output = b.Add("mp-output", Workflow::MODEL_PROVIDER);
  mp_output.mutable_write_output()->set_path("matched.txt");
  Builder::In(mp_output, "matched", "mp-matched");
  Builder::In(mp_output, "payloads", "mp-payloads");
  return b.Build();
}

}  // namespace halo::exchange
