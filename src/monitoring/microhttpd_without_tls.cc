// Debian's libmicrohttpd.a is built with HTTPS through GnuTLS, and GnuTLS's
// static library needs p11-kit, which Debian ships only as a shared library.
// halo's monitoring listener speaks plain HTTP (operators put it behind
// their own scraping network; docs/OPERATIONS.md), never sets MHD_USE_TLS,
// and so never reaches GnuTLS but for its global init and deinit. These take
// GnuTLS's place so that the binary stays static and carries no second TLS
// stack: init and deinit succeed doing nothing; every other call fails as an
// unimplemented feature would.
#include <cstddef>
#include <cstdlib>

extern "C" {

namespace {

// GNUTLS_E_UNIMPLEMENTED_FEATURE.
constexpr int kUnimplemented = -1250;

}  // namespace

void* (*gnutls_malloc)(size_t) = std::malloc;

int gnutls_global_init() { return 0; }
void gnutls_global_deinit() {}
const char* gnutls_strerror(int) { return "this halo binary's HTTP listener is built without TLS"; }

#define HALO_WITHOUT_TLS(name) \
  int name() { return kUnimplemented; }
HALO_WITHOUT_TLS(gnutls_alpn_set_protocols)
HALO_WITHOUT_TLS(gnutls_bye)
HALO_WITHOUT_TLS(gnutls_certificate_allocate_credentials)
HALO_WITHOUT_TLS(gnutls_certificate_free_credentials)
HALO_WITHOUT_TLS(gnutls_certificate_server_set_request)
HALO_WITHOUT_TLS(gnutls_certificate_set_dh_params)
HALO_WITHOUT_TLS(gnutls_certificate_set_retrieve_function2)
HALO_WITHOUT_TLS(gnutls_certificate_set_retrieve_function3)
HALO_WITHOUT_TLS(gnutls_certificate_set_x509_key_mem)
HALO_WITHOUT_TLS(gnutls_certificate_set_x509_key_mem2)
HALO_WITHOUT_TLS(gnutls_certificate_set_x509_trust_mem)
HALO_WITHOUT_TLS(gnutls_cipher_get)
HALO_WITHOUT_TLS(gnutls_credentials_set)
HALO_WITHOUT_TLS(gnutls_deinit)
HALO_WITHOUT_TLS(gnutls_dh_params_deinit)
HALO_WITHOUT_TLS(gnutls_dh_params_import_pkcs3)
HALO_WITHOUT_TLS(gnutls_dh_params_init)
HALO_WITHOUT_TLS(gnutls_handshake)
HALO_WITHOUT_TLS(gnutls_init)
HALO_WITHOUT_TLS(gnutls_priority_deinit)
HALO_WITHOUT_TLS(gnutls_priority_init)
HALO_WITHOUT_TLS(gnutls_priority_set)
HALO_WITHOUT_TLS(gnutls_protocol_get_version)
HALO_WITHOUT_TLS(gnutls_psk_allocate_server_credentials)
HALO_WITHOUT_TLS(gnutls_psk_free_server_credentials)
HALO_WITHOUT_TLS(gnutls_psk_set_server_credentials_function)
HALO_WITHOUT_TLS(gnutls_record_check_pending)
HALO_WITHOUT_TLS(gnutls_record_get_direction)
HALO_WITHOUT_TLS(gnutls_record_recv)
HALO_WITHOUT_TLS(gnutls_record_send)
HALO_WITHOUT_TLS(gnutls_session_get_ptr)
HALO_WITHOUT_TLS(gnutls_session_set_ptr)
HALO_WITHOUT_TLS(gnutls_transport_set_int2)
#undef HALO_WITHOUT_TLS

}  // extern "C"
