// The Kingdom's gRPC services: each call authenticates its caller by the
// client certificate, checks the caller's kind, and hands over to the Ledger.
#ifndef HALO_SRC_KINGDOM_SERVICES_H_
#define HALO_SRC_KINGDOM_SERVICES_H_

#include "exchange_ledger.h"
#include "halo/api/v1/exchanges.grpc.pb.h"
#include "halo/api/v1/public.grpc.pb.h"
#include "halo/api/v1/system.grpc.pb.h"
#include "ledger.h"

namespace halo::kingdom {

class AdminService final : public api::v1::Admin::Service {
 public:
  explicit AdminService(Ledger& ledger) : ledger_(ledger) {}
  grpc::Status CreateDataProvider(grpc::ServerContext* context, const api::v1::CreateDataProviderRequest* request, api::v1::DataProvider* response) override;
  grpc::Status ListDataProviders(grpc::ServerContext* context, const api::v1::ListEntitiesRequest* request, api::v1::ListDataProvidersResponse* response) override;
  grpc::Status CreateMeasurementConsumer(grpc::ServerContext* context, const api::v1::CreateMeasurementConsumerRequest* request, api::v1::MeasurementConsumer* response) override;
  grpc::Status ListMeasurementConsumers(grpc::ServerContext* context, const api::v1::ListEntitiesRequest* request, api::v1::ListMeasurementConsumersResponse* response) override;
  grpc::Status CreateDuchy(grpc::ServerContext* context, const api::v1::CreateDuchyRequest* request, api::v1::Duchy* response) override;
  grpc::Status ListDuchies(grpc::ServerContext* context, const api::v1::ListEntitiesRequest* request, api::v1::ListDuchiesResponse* response) override;
  grpc::Status CreateModelProvider(grpc::ServerContext* context, const api::v1::CreateModelProviderRequest* request, api::v1::ModelProvider* response) override;
  grpc::Status ListModelProviders(grpc::ServerContext* context, const api::v1::ListEntitiesRequest* request, api::v1::ListModelProvidersResponse* response) override;

 private:
  Ledger& ledger_;
};

class EventGroupsService final : public api::v1::EventGroups::Service {
 public:
  explicit EventGroupsService(Ledger& ledger) : ledger_(ledger) {}
  grpc::Status CreateEventGroup(grpc::ServerContext* context, const api::v1::CreateEventGroupRequest* request, api::v1::EventGroup* response) override;
  grpc::Status GetEventGroup(grpc::ServerContext* context, const api::v1::GetEventGroupRequest* request, api::v1::EventGroup* response) override;
  grpc::Status ListEventGroups(grpc::ServerContext* context, const api::v1::ListEventGroupsRequest* request, api::v1::ListEventGroupsResponse* response) override;
  grpc::Status UpdateEventGroup(grpc::ServerContext* context, const api::v1::UpdateEventGroupRequest* request, api::v1::EventGroup* response) override;
  grpc::Status DeleteEventGroup(grpc::ServerContext* context, const api::v1::DeleteEventGroupRequest* request, api::v1::DeleteEventGroupResponse* response) override;

 private:
  Ledger& ledger_;
};

class MeasurementsService final : public api::v1::Measurements::Service {
 public:
  explicit MeasurementsService(Ledger& ledger) : ledger_(ledger) {}
  grpc::Status CreateMeasurement(grpc::ServerContext* context, const api::v1::CreateMeasurementRequest* request, api::v1::Measurement* response) override;
  grpc::Status GetMeasurement(grpc::ServerContext* context, const api::v1::GetMeasurementRequest* request, api::v1::Measurement* response) override;
  grpc::Status ListMeasurements(grpc::ServerContext* context, const api::v1::ListMeasurementsRequest* request, api::v1::ListMeasurementsResponse* response) override;
  grpc::Status CancelMeasurement(grpc::ServerContext* context, const api::v1::CancelMeasurementRequest* request, api::v1::Measurement* response) override;

 private:
  Ledger& ledger_;
};

class RequisitionsService final : public api::v1::Requisitions::Service {
 public:
  explicit RequisitionsService(Ledger& ledger) : ledger_(ledger) {}
  grpc::Status ListRequisitions(grpc::ServerContext* context, const api::v1::ListRequisitionsRequest* request, api::v1::ListRequisitionsResponse* response) override;
  grpc::Status GetRequisition(grpc::ServerContext* context, const api::v1::GetRequisitionRequest* request, api::v1::Requisition* response) override;
  grpc::Status RefuseRequisition(grpc::ServerContext* context, const api::v1::RefuseRequisitionRequest* request, api::v1::Requisition* response) override;
  grpc::Status FulfillDirectRequisition(grpc::ServerContext* context, const api::v1::FulfillDirectRequisitionRequest* request, api::v1::Requisition* response) override;

 private:
  Ledger& ledger_;
};

class DataProvidersService final : public api::v1::DataProviders::Service {
 public:
  explicit DataProvidersService(Ledger& ledger) : ledger_(ledger) {}
  grpc::Status GetDataProvider(grpc::ServerContext* context, const api::v1::GetDataProviderRequest* request, api::v1::DataProvider* response) override;

 private:
  Ledger& ledger_;
};

class CertificatesService final : public api::v1::Certificates::Service {
 public:
  explicit CertificatesService(Ledger& ledger) : ledger_(ledger) {}
  grpc::Status CreateCertificate(grpc::ServerContext* context, const api::v1::CreateCertificateRequest* request, api::v1::Certificate* response) override;
  grpc::Status GetCertificate(grpc::ServerContext* context, const api::v1::GetCertificateRequest* request, api::v1::Certificate* response) override;
  grpc::Status RevokeCertificate(grpc::ServerContext* context, const api::v1::RevokeCertificateRequest* request, api::v1::Certificate* response) override;

 private:
  Ledger& ledger_;
};

class ComputationsService final : public api::v1::Computations::Service {
 public:
  explicit ComputationsService(Ledger& ledger) : ledger_(ledger) {}
  grpc::Status StreamActiveComputations(grpc::ServerContext* context, const api::v1::StreamActiveComputationsRequest* request, grpc::ServerWriter<api::v1::StreamActiveComputationsResponse>* writer) override;
  grpc::Status GetComputation(grpc::ServerContext* context, const api::v1::GetComputationRequest* request, api::v1::Computation* response) override;
  grpc::Status SetParticipantRequisitionParams(grpc::ServerContext* context, const api::v1::SetParticipantRequisitionParamsRequest* request, api::v1::Computation* response) override;
  grpc::Status ConfirmComputationParticipant(grpc::ServerContext* context, const api::v1::ConfirmComputationParticipantRequest* request, api::v1::Computation* response) override;
  grpc::Status FulfillRequisition(grpc::ServerContext* context, const api::v1::FulfillRequisitionRequest* request, api::v1::Computation* response) override;
  grpc::Status SetComputationResult(grpc::ServerContext* context, const api::v1::SetComputationResultRequest* request, api::v1::Computation* response) override;
  grpc::Status FailComputationParticipant(grpc::ServerContext* context, const api::v1::FailComputationParticipantRequest* request, api::v1::Computation* response) override;
  grpc::Status CreateComputationLogEntry(grpc::ServerContext* context, const api::v1::CreateComputationLogEntryRequest* request, api::v1::ComputationLogEntry* response) override;

 private:
  Ledger& ledger_;
};

class RecurringExchangesService final : public api::v1::RecurringExchanges::Service {
 public:
  RecurringExchangesService(Ledger& ledger, ExchangeLedger& exchanges) : ledger_(ledger), exchanges_(exchanges) {}
  grpc::Status CreateRecurringExchange(grpc::ServerContext* context, const api::v1::CreateRecurringExchangeRequest* request, api::v1::RecurringExchange* response) override;
  grpc::Status GetRecurringExchange(grpc::ServerContext* context, const api::v1::GetRecurringExchangeRequest* request, api::v1::RecurringExchange* response) override;
  grpc::Status ListRecurringExchanges(grpc::ServerContext* context, const api::v1::ListRecurringExchangesRequest* request, api::v1::ListRecurringExchangesResponse* response) override;

 private:
  Ledger& ledger_;
  ExchangeLedger& exchanges_;
};

class ExchangesService final : public api::v1::Exchanges::Service {
 public:
  ExchangesService(Ledger& ledger, ExchangeLedger& exchanges) : ledger_(ledger), exchanges_(exchanges) {}
  grpc::Status GetExchange(grpc::ServerContext* context, const api::v1::GetExchangeRequest* request, api::v1::Exchange* response) override;
  grpc::Status ListExchanges(grpc::ServerContext* context, const api::v1::ListExchangesRequest* request, api::v1::ListExchangesResponse* response) override;
  grpc::Status ListExchangeSteps(grpc::ServerContext* context, const api::v1::ListExchangeStepsRequest* request, api::v1::ListExchangeStepsResponse* response) override;
  grpc::Status ListExchangeStepAttempts(grpc::ServerContext* context, const api::v1::ListExchangeStepAttemptsRequest* request, api::v1::ListExchangeStepAttemptsResponse* response) override;

 private:
  Ledger& ledger_;
  ExchangeLedger& exchanges_;
};

class ExchangeStepWorkService final : public api::v1::ExchangeStepWork::Service {
 public:
  ExchangeStepWorkService(Ledger& ledger, ExchangeLedger& exchanges) : ledger_(ledger), exchanges_(exchanges) {}
  grpc::Status ClaimReadyExchangeStep(grpc::ServerContext* context, const api::v1::ClaimReadyExchangeStepRequest* request, api::v1::ClaimReadyExchangeStepResponse* response) override;
  grpc::Status FinishExchangeStepAttempt(grpc::ServerContext* context, const api::v1::FinishExchangeStepAttemptRequest* request, api::v1::ExchangeStepAttempt* response) override;
  grpc::Status RenewExchangeStepAttempt(grpc::ServerContext* context, const api::v1::RenewExchangeStepAttemptRequest* request, api::v1::ExchangeStepAttempt* response) override;

 private:
  Ledger& ledger_;
  ExchangeLedger& exchanges_;
};

}  // namespace halo::kingdom

#endif  // HALO_SRC_KINGDOM_SERVICES_H_
