// Debian's libpq.a calls into GSSAPI (Kerberos) and LDAP, neither of which
// Debian ships as a static library. halo links libpq.a so that the binary
// stays static, and these take their place: every GSSAPI call fails (libpq
// then connects without GSS encryption, and refuses Kerberos authentication
// with the message below), and an ldap:// service lookup fails as if no LDAP
// server answered. Password (SCRAM), certificate and peer authentication,
// and TLS, are libpq's own and unaffected. halo's connections also ask for
// gssencmode=disable, so GSSAPI is not even tried.
#include <cstddef>
#include <cstdint>

extern "C" {

namespace {

using OmUint32 = uint32_t;
// GSS_S_FAILURE and GSS_S_COMPLETE from RFC 2744.
constexpr OmUint32 kGssFailure = 13u << 16;
constexpr OmUint32 kGssComplete = 0;

struct GssBuffer {
  size_t length;
  void* value;
};

char kNoGssapi[] = "this halo binary is built without GSSAPI (Kerberos) support";
char kNoLdap[] = "this halo binary is built without LDAP support";

OmUint32 Fail(OmUint32* minor_status) {
  if (minor_status != nullptr) *minor_status = 0;
  return kGssFailure;
}

}  // namespace

void* GSS_C_NT_HOSTBASED_SERVICE = nullptr;

OmUint32 gss_acquire_cred(OmUint32* minor_status) { return Fail(minor_status); }
OmUint32 gss_import_name(OmUint32* minor_status) { return Fail(minor_status); }
OmUint32 gss_init_sec_context(OmUint32* minor_status) { return Fail(minor_status); }
OmUint32 gss_wrap(OmUint32* minor_status) { return Fail(minor_status); }
OmUint32 gss_unwrap(OmUint32* minor_status) { return Fail(minor_status); }
OmUint32 gss_wrap_size_limit(OmUint32* minor_status) { return Fail(minor_status); }

// Releasing what was never acquired succeeds, as cleanup paths expect.
OmUint32 gss_delete_sec_context(OmUint32* minor_status) {
  if (minor_status != nullptr) *minor_status = 0;
  return kGssComplete;
}
OmUint32 gss_release_buffer(OmUint32* minor_status) { return gss_delete_sec_context(minor_status); }
OmUint32 gss_release_cred(OmUint32* minor_status) { return gss_delete_sec_context(minor_status); }
OmUint32 gss_release_name(OmUint32* minor_status) { return gss_delete_sec_context(minor_status); }

// libpq loops on message_context and appends status_string to its error.
OmUint32 gss_display_status(OmUint32* minor_status, OmUint32 /*status_value*/, int /*status_type*/,
                            void* /*mech_type*/, OmUint32* message_context, GssBuffer* status_string) {
  if (minor_status != nullptr) *minor_status = 0;
  if (message_context != nullptr) *message_context = 0;
  if (status_string != nullptr) *status_string = GssBuffer{sizeof(kNoGssapi) - 1, kNoGssapi};
  return kGssComplete;
}

void* ldap_init(const char* /*host*/, int /*port*/) { return nullptr; }
char* ldap_err2string(int /*error*/) { return kNoLdap; }
int ldap_set_option() { return -1; }
int ldap_simple_bind() { return -1; }
int ldap_search_st() { return -1; }
int ldap_result() { return -1; }
int ldap_count_entries() { return -1; }
void* ldap_first_entry() { return nullptr; }
void* ldap_get_values_len() { return nullptr; }
int ldap_msgfree() { return 0; }
int ldap_value_free_len() { return 0; }
int ldap_unbind() { return 0; }
}
