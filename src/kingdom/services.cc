#include "services.h"

#include <initializer_list>

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"

namespace halo::kingdom {
namespace {

using Kind = Principal::Kind;

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kAdministrator:
      return "an administrator";
    case Kind::kDataProvider:
      return "a data provider";
    case Kind::kMeasurementConsumer:
      return "a measurement consumer";
    case Kind::kDuchy:
      return "a duchy";
    case Kind::kModelProvider:
      return "a model provider";
  }
  return "unknown";
}

// Authenticates the caller by its client certificate, checks it is one of
// `allowed`, and runs `body` as it.
grpc::Status Serve(Ledger& ledger, grpc::ServerContext* context, std::initializer_list<Kind> allowed,
                   const std::function<absl::Status(const Principal&)>& body) {
  const auto pem = context->auth_context()->FindPropertyValues("x509_pem_cert");
  if (pem.empty()) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no client certificate");
  auto principal = ledger.Authenticate(absl::string_view(pem.front().data(), pem.front().size()));
  if (!principal.ok()) return ToGrpc(principal.status());
  bool permitted = false;
  std::string expected;
  for (Kind kind : allowed) {
    permitted = permitted || principal->kind == kind;
    absl::StrAppend(&expected, expected.empty() ? "" : " or ", KindName(kind));
  }
  if (!permitted) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        absl::StrCat(principal->name, " is ", KindName(principal->kind), "; only ", expected,
                                     " may call this"));
  }
  return ToGrpc(body(*principal));
}

template <typename T>
absl::Status Assign(absl::StatusOr<T> value, T* out) {
  RETURN_IF_ERROR(value.status());
  *out = *std::move(value);
  return absl::OkStatus();
}

template <typename Response, typename Entity>
absl::Status ListInto(Ledger& ledger, const std::string& collection, const api::v1::ListEntitiesRequest& request,
                      Response* response, google::protobuf::RepeatedPtrField<Entity>* out) {
  std::string next;
  ASSIGN_OR_RETURN(std::vector<std::string> entities,
                   ledger.ListEntities(collection, {request.page_size(), request.page_token()}, &next));
  for (const std::string& bytes : entities) {
    if (!out->Add()->ParseFromString(bytes)) return absl::DataLossError("a stored entity does not parse");
  }
  response->set_next_page_token(next);
  return absl::OkStatus();
}

}  // namespace

// Admin

grpc::Status AdminService::CreateDataProvider(grpc::ServerContext* context,
                                              const api::v1::CreateDataProviderRequest* request,
                                              api::v1::DataProvider* response) {
  return Serve(ledger_, context, {Kind::kAdministrator},
               [&](const Principal&) { return Assign(ledger_.CreateDataProvider(*request), response); });
}
grpc::Status AdminService::ListDataProviders(grpc::ServerContext* context, const api::v1::ListEntitiesRequest* request,
                                             api::v1::ListDataProvidersResponse* response) {
  return Serve(ledger_, context, {Kind::kAdministrator}, [&](const Principal&) {
    return ListInto(ledger_, "dataProviders", *request, response, response->mutable_data_providers());
  });
}
grpc::Status AdminService::CreateMeasurementConsumer(grpc::ServerContext* context,
                                                     const api::v1::CreateMeasurementConsumerRequest* request,
                                                     api::v1::MeasurementConsumer* response) {
  return Serve(ledger_, context, {Kind::kAdministrator},
               [&](const Principal&) { return Assign(ledger_.CreateMeasurementConsumer(*request), response); });
}
grpc::Status AdminService::ListMeasurementConsumers(grpc::ServerContext* context,
                                                    const api::v1::ListEntitiesRequest* request,
                                                    api::v1::ListMeasurementConsumersResponse* response) {
  return Serve(ledger_, context, {Kind::kAdministrator}, [&](const Principal&) {
    return ListInto(ledger_, "measurementConsumers", *request, response, response->mutable_measurement_consumers());
  });
}
grpc::Status AdminService::CreateDuchy(grpc::ServerContext* context, const api::v1::CreateDuchyRequest* request,
                                       api::v1::Duchy* response) {
  return Serve(ledger_, context, {Kind::kAdministrator},
               [&](const Principal&) { return Assign(ledger_.CreateDuchy(*request), response); });
}
grpc::Status AdminService::ListDuchies(grpc::ServerContext* context, const api::v1::ListEntitiesRequest* request,
                                       api::v1::ListDuchiesResponse* response) {
  return Serve(ledger_, context, {Kind::kAdministrator}, [&](const Principal&) {
    return ListInto(ledger_, "duchies", *request, response, response->mutable_duchies());
  });
}
grpc::Status AdminService::CreateModelProvider(grpc::ServerContext* context,
                                               const api::v1::CreateModelProviderRequest* request,
                                               api::v1::ModelProvider* response) {
  return Serve(ledger_, context, {Kind::kAdministrator},
               [&](const Principal&) { return Assign(ledger_.CreateModelProvider(*request), response); });
}
grpc::Status AdminService::ListModelProviders(grpc::ServerContext* context, const api::v1::ListEntitiesRequest* request,
                                              api::v1::ListModelProvidersResponse* response) {
  return Serve(ledger_, context, {Kind::kAdministrator}, [&](const Principal&) {
    return ListInto(ledger_, "modelProviders", *request, response, response->mutable_model_providers());
  });
}

// Event groups

grpc::Status EventGroupsService::CreateEventGroup(grpc::ServerContext* context,
                                                  const api::v1::CreateEventGroupRequest* request,
                                                  api::v1::EventGroup* response) {
  return Serve(ledger_, context, {Kind::kDataProvider},
               [&](const Principal& p) { return Assign(ledger_.CreateEventGroup(p, *request), response); });
}
grpc::Status EventGroupsService::GetEventGroup(grpc::ServerContext* context,
                                               const api::v1::GetEventGroupRequest* request,
                                               api::v1::EventGroup* response) {
  return Serve(ledger_, context, {Kind::kDataProvider, Kind::kMeasurementConsumer},
               [&](const Principal& p) { return Assign(ledger_.GetEventGroup(p, request->name()), response); });
}
grpc::Status EventGroupsService::ListEventGroups(grpc::ServerContext* context,
                                                 const api::v1::ListEventGroupsRequest* request,
                                                 api::v1::ListEventGroupsResponse* response) {
  return Serve(ledger_, context, {Kind::kDataProvider, Kind::kMeasurementConsumer},
               [&](const Principal& p) { return Assign(ledger_.ListEventGroups(p, *request), response); });
}
grpc::Status EventGroupsService::UpdateEventGroup(grpc::ServerContext* context,
                                                  const api::v1::UpdateEventGroupRequest* request,
                                                  api::v1::EventGroup* response) {
  return Serve(ledger_, context, {Kind::kDataProvider},
               [&](const Principal& p) { return Assign(ledger_.UpdateEventGroup(p, *request), response); });
}
grpc::Status EventGroupsService::DeleteEventGroup(grpc::ServerContext* context,
                                                  const api::v1::DeleteEventGroupRequest* request,
                                                  api::v1::DeleteEventGroupResponse*) {
  return Serve(ledger_, context, {Kind::kDataProvider},
               [&](const Principal& p) { return ledger_.DeleteEventGroup(p, *request); });
}

// Measurements

grpc::Status MeasurementsService::CreateMeasurement(grpc::ServerContext* context,
                                                    const api::v1::CreateMeasurementRequest* request,
                                                    api::v1::Measurement* response) {
  return Serve(ledger_, context, {Kind::kMeasurementConsumer},
               [&](const Principal& p) { return Assign(ledger_.CreateMeasurement(p, *request), response); });
}
grpc::Status MeasurementsService::GetMeasurement(grpc::ServerContext* context,
                                                 const api::v1::GetMeasurementRequest* request,
                                                 api::v1::Measurement* response) {
  return Serve(ledger_, context, {Kind::kMeasurementConsumer},
               [&](const Principal& p) { return Assign(ledger_.GetMeasurement(p, request->name()), response); });
}
grpc::Status MeasurementsService::ListMeasurements(grpc::ServerContext* context,
                                                   const api::v1::ListMeasurementsRequest* request,
                                                   api::v1::ListMeasurementsResponse* response) {
  return Serve(ledger_, context, {Kind::kMeasurementConsumer},
               [&](const Principal& p) { return Assign(ledger_.ListMeasurements(p, *request), response); });
}
grpc::Status MeasurementsService::CancelMeasurement(grpc::ServerContext* context,
                                                    const api::v1::CancelMeasurementRequest* request,
                                                    api::v1::Measurement* response) {
  return Serve(ledger_, context, {Kind::kMeasurementConsumer},
               [&](const Principal& p) { return Assign(ledger_.CancelMeasurement(p, *request), response); });
}

// Requisitions

grpc::Status RequisitionsService::ListRequisitions(grpc::ServerContext* context,
                                                   const api::v1::ListRequisitionsRequest* request,
                                                   api::v1::ListRequisitionsResponse* response) {
  return Serve(ledger_, context, {Kind::kDataProvider},
               [&](const Principal& p) { return Assign(ledger_.ListRequisitions(p, *request), response); });
}
grpc::Status RequisitionsService::GetRequisition(grpc::ServerContext* context,
                                                 const api::v1::GetRequisitionRequest* request,
                                                 api::v1::Requisition* response) {
  return Serve(ledger_, context, {Kind::kDataProvider},
               [&](const Principal& p) { return Assign(ledger_.GetRequisition(p, request->name()), response); });
}
grpc::Status RequisitionsService::RefuseRequisition(grpc::ServerContext* context,
                                                    const api::v1::RefuseRequisitionRequest* request,
                                                    api::v1::Requisition* response) {
  return Serve(ledger_, context, {Kind::kDataProvider},
               [&](const Principal& p) { return Assign(ledger_.RefuseRequisition(p, *request), response); });
}
grpc::Status RequisitionsService::FulfillDirectRequisition(grpc::ServerContext* context,
                                                           const api::v1::FulfillDirectRequisitionRequest* request,
                                                           api::v1::Requisition* response) {
  return Serve(ledger_, context, {Kind::kDataProvider},
               [&](const Principal& p) { return Assign(ledger_.FulfillDirectRequisition(p, *request), response); });
}

// Certificates: any registered party may read one (an EDP checks an MC's
// signature with it); an entity adds and revokes its own.

grpc::Status CertificatesService::CreateCertificate(grpc::ServerContext* context,
                                                    const api::v1::CreateCertificateRequest* request,
                                                    api::v1::Certificate* response) {
  return Serve(ledger_, context,
               {Kind::kAdministrator, Kind::kDataProvider, Kind::kMeasurementConsumer, Kind::kDuchy,
                Kind::kModelProvider},
               [&](const Principal& p) { return Assign(ledger_.CreateCertificate(p, *request), response); });
}
grpc::Status DataProvidersService::GetDataProvider(grpc::ServerContext* context,
                                                   const api::v1::GetDataProviderRequest* request,
                                                   api::v1::DataProvider* response) {
  return Serve(ledger_, context,
               {Kind::kAdministrator, Kind::kDataProvider, Kind::kMeasurementConsumer, Kind::kDuchy,
                Kind::kModelProvider},
               [&](const Principal&) { return Assign(ledger_.GetDataProvider(request->name()), response); });
}

grpc::Status CertificatesService::GetCertificate(grpc::ServerContext* context,
                                                 const api::v1::GetCertificateRequest* request,
                                                 api::v1::Certificate* response) {
  return Serve(ledger_, context,
               {Kind::kAdministrator, Kind::kDataProvider, Kind::kMeasurementConsumer, Kind::kDuchy,
                Kind::kModelProvider},
               [&](const Principal&) { return Assign(ledger_.GetCertificate(request->name()), response); });
}
grpc::Status CertificatesService::RevokeCertificate(grpc::ServerContext* context,
                                                    const api::v1::RevokeCertificateRequest* request,
                                                    api::v1::Certificate* response) {
  return Serve(ledger_, context,
               {Kind::kAdministrator, Kind::kDataProvider, Kind::kMeasurementConsumer, Kind::kDuchy,
                Kind::kModelProvider},
               [&](const Principal& p) { return Assign(ledger_.RevokeCertificate(p, request->name()), response); });
}

// Computations

grpc::Status ComputationsService::StreamActiveComputations(
    grpc::ServerContext* context, const api::v1::StreamActiveComputationsRequest* request,
    grpc::ServerWriter<api::v1::StreamActiveComputationsResponse>* writer) {
  return Serve(ledger_, context, {Kind::kDuchy}, [&](const Principal& p) -> absl::Status {
    std::string token = request->continuation_token();
    const auto pem = context->auth_context()->FindPropertyValues("x509_pem_cert");
    const absl::string_view certificate(pem.front().data(), pem.front().size());
    while (!context->IsCancelled()) {
      const int64_t seen = ledger_.changes().version();
      // A stream outlives no revocation of the certificate it opened with.
      RETURN_IF_ERROR(ledger_.Authenticate(certificate).status());
      ASSIGN_OR_RETURN(auto batch, ledger_.ActiveComputations(p, token, 100));
      for (const auto& response : batch) {
        if (!writer->Write(response)) return absl::OkStatus();
        token = response.continuation_token();
      }
      if (batch.empty()) ledger_.changes().WaitForChange(seen, absl::Seconds(1));
    }
    return absl::OkStatus();
  });
}
grpc::Status ComputationsService::GetComputation(grpc::ServerContext* context,
                                                 const api::v1::GetComputationRequest* request,
                                                 api::v1::Computation* response) {
  return Serve(ledger_, context, {Kind::kDuchy},
               [&](const Principal& p) { return Assign(ledger_.GetComputation(p, request->name()), response); });
}
grpc::Status ComputationsService::SetParticipantRequisitionParams(
    grpc::ServerContext* context, const api::v1::SetParticipantRequisitionParamsRequest* request,
    api::v1::Computation* response) {
  return Serve(ledger_, context, {Kind::kDuchy}, [&](const Principal& p) {
    return Assign(ledger_.SetParticipantRequisitionParams(p, *request), response);
  });
}
grpc::Status ComputationsService::ConfirmComputationParticipant(
    grpc::ServerContext* context, const api::v1::ConfirmComputationParticipantRequest* request,
    api::v1::Computation* response) {
  return Serve(ledger_, context, {Kind::kDuchy}, [&](const Principal& p) {
    return Assign(ledger_.ConfirmComputationParticipant(p, *request), response);
  });
}
grpc::Status ComputationsService::FulfillRequisition(grpc::ServerContext* context,
                                                     const api::v1::FulfillRequisitionRequest* request,
                                                     api::v1::Computation* response) {
  return Serve(ledger_, context, {Kind::kDuchy},
               [&](const Principal& p) { return Assign(ledger_.FulfillRequisition(p, *request), response); });
}
grpc::Status ComputationsService::SetComputationResult(grpc::ServerContext* context,
                                                       const api::v1::SetComputationResultRequest* request,
                                                       api::v1::Computation* response) {
  return Serve(ledger_, context, {Kind::kDuchy},
               [&](const Principal& p) { return Assign(ledger_.SetComputationResult(p, *request), response); });
}
grpc::Status ComputationsService::FailComputationParticipant(
    grpc::ServerContext* context, const api::v1::FailComputationParticipantRequest* request,
    api::v1::Computation* response) {
  return Serve(ledger_, context, {Kind::kDuchy}, [&](const Principal& p) {
    return Assign(ledger_.FailComputationParticipant(p, *request), response);
  });
}
grpc::Status ComputationsService::CreateComputationLogEntry(
    grpc::ServerContext* context, const api::v1::CreateComputationLogEntryRequest* request,
    api::v1::ComputationLogEntry* response) {
  return Serve(ledger_, context, {Kind::kDuchy}, [&](const Principal& p) {
    return Assign(ledger_.CreateComputationLogEntry(p, *request), response);
  });
}

// Panel Exchange

namespace {
constexpr std::initializer_list<Kind> kExchangeViewers = {Kind::kAdministrator, Kind::kDataProvider,
                                                          Kind::kModelProvider};
}  // namespace

grpc::Status RecurringExchangesService::CreateRecurringExchange(grpc::ServerContext* context,
                                                                const api::v1::CreateRecurringExchangeRequest* request,
                                                                api::v1::RecurringExchange* response) {
  return Serve(ledger_, context, {Kind::kAdministrator}, [&](const Principal& caller) {
    return Assign(exchanges_.CreateRecurringExchange(caller, *request), response);
  });
}
grpc::Status RecurringExchangesService::GetRecurringExchange(grpc::ServerContext* context,
                                                             const api::v1::GetRecurringExchangeRequest* request,
                                                             api::v1::RecurringExchange* response) {
  return Serve(ledger_, context, kExchangeViewers, [&](const Principal& caller) {
    return Assign(exchanges_.GetRecurringExchange(caller, request->name()), response);
  });
}
grpc::Status RecurringExchangesService::ListRecurringExchanges(grpc::ServerContext* context,
                                                               const api::v1::ListRecurringExchangesRequest* request,
                                                               api::v1::ListRecurringExchangesResponse* response) {
  return Serve(ledger_, context, kExchangeViewers, [&](const Principal& caller) {
    return Assign(exchanges_.ListRecurringExchanges(caller, *request), response);
  });
}

grpc::Status ExchangesService::GetExchange(grpc::ServerContext* context, const api::v1::GetExchangeRequest* request,
                                           api::v1::Exchange* response) {
  return Serve(ledger_, context, kExchangeViewers, [&](const Principal& caller) {
    return Assign(exchanges_.GetExchange(caller, request->name()), response);
  });
}
grpc::Status ExchangesService::ListExchanges(grpc::ServerContext* context, const api::v1::ListExchangesRequest* request,
                                             api::v1::ListExchangesResponse* response) {
  return Serve(ledger_, context, kExchangeViewers, [&](const Principal& caller) {
    return Assign(exchanges_.ListExchanges(caller, request->parent()), response);
  });
}
grpc::Status ExchangesService::ListExchangeSteps(grpc::ServerContext* context,
                                                 const api::v1::ListExchangeStepsRequest* request,
                                                 api::v1::ListExchangeStepsResponse* response) {
  return Serve(ledger_, context, kExchangeViewers, [&](const Principal& caller) {
    return Assign(exchanges_.ListExchangeSteps(caller, request->parent()), response);
  });
}
grpc::Status ExchangesService::ListExchangeStepAttempts(grpc::ServerContext* context,
                                                        const api::v1::ListExchangeStepAttemptsRequest* request,
                                                        api::v1::ListExchangeStepAttemptsResponse* response) {
  return Serve(ledger_, context, kExchangeViewers, [&](const Principal& caller) {
    return Assign(exchanges_.ListExchangeStepAttempts(caller, request->parent()), response);
  });
}

grpc::Status ExchangeStepWorkService::ClaimReadyExchangeStep(grpc::ServerContext* context,
                                                             const api::v1::ClaimReadyExchangeStepRequest* request,
                                                             api::v1::ClaimReadyExchangeStepResponse* response) {
  return Serve(ledger_, context, {Kind::kDataProvider, Kind::kModelProvider}, [&](const Principal& caller) {
    return Assign(exchanges_.ClaimReadyExchangeStep(caller), response);
  });
}
grpc::Status ExchangeStepWorkService::FinishExchangeStepAttempt(
    grpc::ServerContext* context, const api::v1::FinishExchangeStepAttemptRequest* request,
    api::v1::ExchangeStepAttempt* response) {
  return Serve(ledger_, context, {Kind::kDataProvider, Kind::kModelProvider}, [&](const Principal& caller) {
    return Assign(exchanges_.FinishExchangeStepAttempt(caller, *request), response);
  });
}

grpc::Status ExchangeStepWorkService::RenewExchangeStepAttempt(grpc::ServerContext* context,
                                                               const api::v1::RenewExchangeStepAttemptRequest* request,
                                                               api::v1::ExchangeStepAttempt* response) {
  return Serve(ledger_, context, {Kind::kDataProvider, Kind::kModelProvider}, [&](const Principal& caller) {
    return Assign(exchanges_.RenewExchangeStepAttempt(caller, request->name()), response);
  });
}

}  // namespace halo::kingdom
