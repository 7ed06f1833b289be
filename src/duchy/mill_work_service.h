// The herald's internal service for the duchy's mills in other processes
// (halo/duchy/v1/mill_work.proto): LocalMillWork behind mTLS, with each
// call's claim owned by the calling mill.
#ifndef HALO_SRC_DUCHY_MILL_WORK_SERVICE_H_
#define HALO_SRC_DUCHY_MILL_WORK_SERVICE_H_

#include <string>

#include "absl/synchronization/mutex.h"
#include "halo/crypto/certificate.h"
#include "halo/duchy/v1/mill_work.grpc.pb.h"
#include "mill_work.h"

namespace halo::duchy {

// What a mill's certificate names it: `duchies/{duchy_id}/mills/{name}`.
std::string MillSubjectPrefix(absl::string_view duchy_id);
// Whether `subject` is such a name: one non-empty component of at most 200
// characters after the prefix.
bool IsMillOf(absl::string_view subject, absl::string_view duchy_id);

class MillWorkService final : public v1::MillWork::Service {
 public:
  // `work` is the herald's own (LocalMillWork). `own_root` is the root that
  // issued the herald's certificate: only it may vouch for a mill, since
  // any other organisation's root could write a mill's subject too.
  MillWorkService(MillWork& work, std::string duchy_id, crypto::TrustedRoots own_root)
      : work_(work), duchy_id_(std::move(duchy_id)), own_root_(std::move(own_root)) {}

  // Wakes the claims waiting for work.
  void WorkMayBeReady();
  // Ends every wait, so that the server can stop.
  void Stop();

  grpc::Status ClaimWork(grpc::ServerContext* context, const v1::ClaimWorkRequest* request,
                         v1::ClaimWorkResponse* response) override;
  grpc::Status RenewLease(grpc::ServerContext* context, const v1::RenewLeaseRequest* request,
                          v1::MillWorkResponse* response) override;
  grpc::Status ReleaseClaim(grpc::ServerContext* context, const v1::ReleaseClaimRequest* request,
                            v1::MillWorkResponse* response) override;
  grpc::Status FailComputation(grpc::ServerContext* context, const v1::FailComputationRequest* request,
                               v1::MillWorkResponse* response) override;
  grpc::Status ListInputs(grpc::ServerContext* context, const v1::ListInputsRequest* request,
                          v1::ListInputsResponse* response) override;
  grpc::Status ReadBlob(grpc::ServerContext* context, const v1::ReadBlobRequest* request,
                        grpc::ServerWriter<v1::ReadBlobResponse>* writer) override;
  grpc::Status RecordAttempt(grpc::ServerContext* context, const v1::RecordAttemptRequest* request,
                             v1::MillWorkResponse* response) override;
  grpc::Status SaveDetails(grpc::ServerContext* context, const v1::SaveDetailsRequest* request,
                           v1::MillWorkResponse* response) override;
  grpc::Status SetRequisitionParams(grpc::ServerContext* context, const v1::SetRequisitionParamsRequest* request,
                                    v1::MillWorkResponse* response) override;
  grpc::Status SetResult(grpc::ServerContext* context, const v1::SetResultRequest* request,
                         v1::MillWorkResponse* response) override;
  grpc::Status Confirm(grpc::ServerContext* context, const v1::ConfirmRequest* request,
                       v1::ConfirmResponse* response) override;
  grpc::Status HasOutput(grpc::ServerContext* context, const v1::HasOutputRequest* request,
                         v1::HasOutputResponse* response) override;
  grpc::Status WriteOutput(grpc::ServerContext* context, grpc::ServerReader<v1::WriteOutputRequest>* reader,
                           v1::MillWorkResponse* response) override;
  grpc::Status Finish(grpc::ServerContext* context, const v1::FinishRequest* request,
                      v1::MillWorkResponse* response) override;

 private:
  // The calling mill's name (its claims' owner); PERMISSION_DENIED or
  // UNAUTHENTICATED naming why it is not one of this duchy's mills.
  absl::StatusOr<std::string> AuthenticateMill(const grpc::ServerContext& context);
  // The claim a request carries, held by the calling mill.
  absl::StatusOr<LocalComputation> ClaimOf(const grpc::ServerContext& context, const v1::Claim& claim);

  MillWork& work_;
  const std::string duchy_id_;
  const crypto::TrustedRoots own_root_;
  absl::Mutex mu_;
  int64_t work_generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace halo::duchy

#endif  // HALO_SRC_DUCHY_MILL_WORK_SERVICE_H_
