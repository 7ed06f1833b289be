// The duchy's two servers: stage inputs from the other duchies, and EDP
// uploads.
#ifndef HALO_SRC_DUCHY_SERVICES_H_
#define HALO_SRC_DUCHY_SERVICES_H_

#include <functional>

#include "duchy_context.h"

namespace halo::duchy {

class ComputationControlService final : public v1::ComputationControl::Service {
 public:
  // `on_input` is called after an input is kept (it wakes the mills).
  ComputationControlService(DuchyContext& duchy, std::function<void()> on_input)
      : duchy_(duchy), on_input_(std::move(on_input)) {}
  grpc::Status AdvanceComputation(grpc::ServerContext* context, grpc::ServerReader<v1::AdvanceComputationRequest>* reader,
                                  v1::AdvanceComputationResponse* response) override;
  grpc::Status GetComputationStage(grpc::ServerContext* context, const v1::GetComputationStageRequest* request,
                                   v1::ComputationStageResponse* response) override;

 private:
  DuchyContext& duchy_;
  std::function<void()> on_input_;
};

class RequisitionFulfillmentService final : public v1::RequisitionFulfillment::Service {
 public:
  explicit RequisitionFulfillmentService(DuchyContext& duchy) : duchy_(duchy) {}
  grpc::Status FulfillRequisition(grpc::ServerContext* context, grpc::ServerReader<v1::FulfillRequisitionRequest>* reader,
                                  v1::FulfillRequisitionResponse* response) override;

 private:
  DuchyContext& duchy_;
};

}  // namespace halo::duchy

#endif  // HALO_SRC_DUCHY_SERVICES_H_
