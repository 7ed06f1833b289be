// The herald's service for mills in other processes: who may call it, and
// that a claim taken over cannot be written under.
#include "mill_work_service.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "duchy_context.h"
#include "halo/common/files.h"
#include "halo/crypto/sha256.h"
#include "halo/duchy/v1/mill_work.grpc.pb.h"
#include "halo/net/peer.h"
#include "halo/net/server.h"
#include "testing/temp_dir.h"
#include "testing/test_databases.h"
#include "testing/tls_fixture.h"

namespace halo::duchy {
namespace {

struct FakeClock {
  absl::Time now = absl::Now();
};

// A herald of duchy w1 with only its mill service, its roots those of its
// own organisation and of another.
class Herald {
 public:
  Herald() : own_(dir_, "w1-root"), other_(dir_, "other-root") {
    bundle_ = *ReadFile(own_.ca_file()) + *ReadFile(other_.ca_file());
    const net::TlsMaterial tls = Tls(own_.Issue("duchies/w1"));
    auto store = *ComputationStore::Open(testing::DatabaseUnderTest(dir_, "computations.db"), [this] { return clock_.now; });
    store_ = store.get();
    auto blobs = *storage::OpenFileSystemBlobStore(dir_.Sub("blobs"));
    blobs_ = blobs.get();
    const crypto::Certificate certificate = *crypto::Certificate::FromPem(tls.certificate_pem);
    crypto::TrustedRoots roots = *crypto::TrustedRoots::FromPem(bundle_);
    crypto::TrustedRoots own_root = *roots.IssuerOf(certificate, absl::Now());
    // The Kingdom is not needed by what is tested here: nothing listens.
    context_ = std::make_unique<DuchyContext>("w1", "duchies/w1/certificates/x", crypto::SigningKey::Generate(), tls,
                                              std::move(store), std::move(blobs),
                                              net::OpenChannel("127.0.0.1:1", tls, net::kKingdomSubject),
                                              std::move(roots));
    work_ = LocalMillWork(*context_);
    service_ = std::make_unique<MillWorkService>(*work_, "w1", std::move(own_root));
    server_ = *net::Server::Start({"127.0.0.1:0"}, tls, {{v1::MillWork::service_full_name(), service_.get()}});
  }
  ~Herald() {
    service_->Stop();
    server_->Shutdown(absl::Seconds(1));
  }

  net::TlsMaterial Tls(const config::TlsConfig& files) const {
    return net::TlsMaterial{*ReadFile(files.certificate_file()), *ReadFile(files.private_key_file()), bundle_, ""};
  }
  std::shared_ptr<grpc::Channel> Channel(const net::TlsMaterial& tls) const {
    return net::OpenChannel(absl::StrCat("localhost:", server_->ports().front()), tls, "duchies/w1");
  }
  std::unique_ptr<MillWork> Mill(const config::TlsConfig& files) const { return RemoteMillWork(Channel(Tls(files)), "w1"); }

  testing::TempDir dir_;
  testing::TlsFixture own_;
  testing::TlsFixture other_;
  std::string bundle_;
  FakeClock clock_;
  ComputationStore* store_;
  storage::BlobStore* blobs_;
  std::unique_ptr<DuchyContext> context_;
  std::unique_ptr<MillWork> work_;
  std::unique_ptr<MillWorkService> service_;
  std::unique_ptr<net::Server> server_;
};

// A computation at SETUP_PHASE with one stored input (no assertions: a
// thread calls it).
absl::Status Added(Herald& herald, const std::string& name, const std::string& input) {
  LocalComputation c;
  c.name = name;
  c.stage = v1::WAIT_SETUP_PHASE_INPUTS;
  c.details = "details";
  absl::StatusOr<bool> created = herald.store_->Create(c);
  if (!created.ok()) return created.status();
  const std::string key = name + "/inputs/SETUP_PHASE/w2";
  if (absl::Status put = herald.blobs_->Put(key, input); !put.ok()) return put;
  return herald.store_->RecordInput(name, {v1::WAIT_SETUP_PHASE_INPUTS, 1, v1::SETUP_PHASE},
                                    {"w2", key, crypto::Sha256(input)});
}

void AddRunnable(Herald& herald, const std::string& name, const std::string& input) {
  REQUIRE(Added(herald, name, input).ok());
}

absl::Status Write(MillWork& mill, const LocalComputation& claimed, absl::string_view bytes) {
  auto writer = mill.OpenOutput(claimed);
  if (!writer.ok()) return writer.status();
  if (absl::Status appended = (*writer)->Append(bytes); !appended.ok()) return appended;
  return (*writer)->Commit();
}

TEST_CASE("Only this duchy's mills, certified by its own root, may call its herald", "[grpc]") {
  Herald herald;
  AddRunnable(herald, "computations/1", "input");
  struct Refused {
    const char* who;
    config::TlsConfig tls;
    const char* why;
  };
  const std::vector<Refused> refused = {
      {"another organisation's root", herald.other_.Issue("duchies/w1/mills/a"), "not issued by the root of duchy w1"},
      {"a mill of another duchy", herald.own_.Issue("duchies/w2/mills/a"), "is not a mill of duchy w1"},
      {"the duchy itself", herald.own_.Issue("duchies/w1"), "is not a mill of duchy w1"},
      {"a name beneath a mill", herald.own_.Issue("duchies/w1/mills/a/b"), "is not a mill of duchy w1"},
  };
  for (const Refused& r : refused) {
    INFO(r.who);
    auto claimed = herald.Mill(r.tls)->Claim("ignored", absl::Seconds(30), {});
    CHECK(absl::IsPermissionDenied(claimed.status()));
    CHECK_THAT(std::string(claimed.status().message()), Catch::Contains(r.why));
  }
  // Nothing was claimed by them.
  CHECK(herald.store_->Get("computations/1")->lease_owner.empty());
  auto mill = herald.Mill(herald.own_.Issue("duchies/w1/mills/a"));
  auto claimed = mill->Claim("ignored", absl::Seconds(30), {});
  REQUIRE(claimed.ok());
  REQUIRE(claimed->has_value());
  // The owner is the name the certificate gives, whatever the mill says.
  CHECK(herald.store_->Get("computations/1")->lease_owner == "duchies/w1/mills/a");
}

TEST_CASE("A mill reads its claim's inputs and writes its output through the herald, checked by SHA-256", "[grpc]") {
  Herald herald;
  const std::string input(3 * (1 << 20) + 17, 'i');
  AddRunnable(herald, "computations/1", input);
  auto mill = herald.Mill(herald.own_.Issue("duchies/w1/mills/a"));
  const LocalComputation claimed = **mill->Claim("a", absl::Seconds(30), {});
  CHECK(claimed.name == "computations/1");
  CHECK(claimed.stage == v1::SETUP_PHASE);
  CHECK(claimed.details == "details");
  CHECK(claimed.attempts == 1);
  const std::vector<StageInput> inputs = *mill->Inputs(claimed, v1::WAIT_SETUP_PHASE_INPUTS);
  REQUIRE(inputs.size() == 1);
  auto reader = *mill->OpenBlob(claimed, inputs[0].blob_key);
  CHECK(reader->size() == input.size());
  CHECK(*storage::ReadAll(*reader, inputs[0].blob_key) == input);
  // Only the claimed computation's own blobs.
  AddRunnable(herald, "computations/2", "secret");
  CHECK(absl::IsPermissionDenied(mill->OpenBlob(claimed, "computations/2/inputs/SETUP_PHASE/w2").status()));

  CHECK_FALSE(*mill->HasOutput(claimed));
  const std::string output(2 * (1 << 20) + 5, 'o');
  REQUIRE(Write(*mill, claimed, output).ok());
  CHECK(*mill->HasOutput(claimed));
  CHECK(*herald.blobs_->Get("computations/1/outputs/SETUP_PHASE") == output);

  // An output whose end carries another digest is not kept.
  herald.blobs_->Delete("computations/1/outputs/SETUP_PHASE").IgnoreError();
  auto stub = v1::MillWork::NewStub(herald.Channel(herald.Tls(herald.own_.Issue("duchies/w1/mills/a"))));
  grpc::ClientContext context;
  v1::MillWorkResponse response;
  auto stream = stub->WriteOutput(&context, &response);
  v1::WriteOutputRequest message;
  message.mutable_claim()->set_computation(claimed.name);
  message.mutable_claim()->set_stage(claimed.stage);
  message.mutable_claim()->set_version(claimed.version);
  REQUIRE(stream->Write(message));
  message.set_chunk("bytes");
  REQUIRE(stream->Write(message));
  message.mutable_end()->set_total_bytes(5);
  message.mutable_end()->set_sha256(crypto::Sha256("other bytes"));
  REQUIRE(stream->Write(message));
  stream->WritesDone();
  const grpc::Status status = stream->Finish();
  CHECK(status.error_code() == grpc::StatusCode::DATA_LOSS);
  CHECK_FALSE(*mill->HasOutput(claimed));
}

TEST_CASE("A mill whose lease lapsed and was taken over can write nothing under its old claim, and is told so", "[grpc]") {
  Herald herald;
  AddRunnable(herald, "computations/1", "input");
  auto stale = herald.Mill(herald.own_.Issue("duchies/w1/mills/a"));
  auto successor = herald.Mill(herald.own_.Issue("duchies/w1/mills/b"));
  const LocalComputation old_claim = **stale->Claim("a", absl::Seconds(30), {});
  CHECK(*successor->Claim("b", absl::Seconds(30), {}) == std::nullopt);
  herald.clock_.now += absl::Seconds(31);
  const LocalComputation new_claim = **successor->Claim("b", absl::Seconds(30), {});
  CHECK(new_claim.name == old_claim.name);
  CHECK(new_claim.attempts == 2);

  const absl::Status renewed = stale->RenewLease(old_claim, absl::Seconds(30));
  CHECK(absl::IsAborted(renewed));
  CHECK_THAT(std::string(renewed.message()), Catch::Contains("claimed by duchies/w1/mills/b"));
  CHECK(absl::IsAborted(Write(*stale, old_claim, "stale output")));
  CHECK(absl::IsAborted(stale->SaveDetails(old_claim, "stale details")));
  CHECK(absl::IsAborted(stale->Inputs(old_claim, v1::WAIT_SETUP_PHASE_INPUTS).status()));
  CHECK(absl::IsAborted(stale->Finish(old_claim, "stale details")));
  CHECK(absl::IsAborted(stale->Release(old_claim, absl::Seconds(1), "stale")));
  CHECK(absl::IsAborted(stale->Fail(old_claim, "stale")));
  // Nor may it write under the successor's claim, whose version it can see.
  LocalComputation borrowed = new_claim;
  CHECK(absl::IsAborted(stale->SaveDetails(borrowed, "borrowed details")));

  const LocalComputation now = *herald.store_->Get("computations/1");
  CHECK(now.details == "details");
  CHECK(now.stage == v1::SETUP_PHASE);
  CHECK(now.failure.empty());
  CHECK_FALSE(*successor->HasOutput(new_claim));
  REQUIRE(successor->SaveDetails(new_claim, "new details").ok());
  REQUIRE(Write(*successor, new_claim, "output").ok());
  CHECK(herald.store_->Get("computations/1")->details == "new details");
}

TEST_CASE("A claim waits at the herald for work, and a lease outside its bounds is refused", "[grpc]") {
  Herald herald;
  auto mill = herald.Mill(herald.own_.Issue("duchies/w1/mills/a"));
  CHECK(absl::IsInvalidArgument(mill->Claim("a", absl::Seconds(1), {}).status()));
  const absl::Time began = absl::Now();
  std::atomic<bool> added = false;
  std::thread later([&] {
    absl::SleepFor(absl::Milliseconds(300));
    added = Added(herald, "computations/1", "input").ok();
    herald.service_->WorkMayBeReady();
  });
  auto claimed = mill->Claim("a", absl::Seconds(30), {});
  later.join();
  REQUIRE(added);
  REQUIRE(claimed.ok());
  REQUIRE(claimed->has_value());
  // Answered when the work came, not at the end of the wait.
  CHECK(absl::Now() - began < absl::Seconds(4));
}

}  // namespace
}  // namespace halo::duchy
