// ThreadSanitizer builds only. Debian's abseil is not built with
// ThreadSanitizer, so the way its Mutex and Notification synchronise happens
// inside the library, out of the sanitizer's sight, and every access they
// guard looks like a race. The TSan build links with --wrap on their entry
// points (CMakeLists.txt), and these wrappers tell the sanitizer what each
// call means: a lock, or a wait that returns, acquires the object; an unlock,
// or a notification, releases it.
#include <sanitizer/tsan_interface.h>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

#define HALO_MUTEX(name) _ZN4absl7debian35Mutex##name
#define HALO_NOTIFICATION(name) _ZN4absl7debian312Notification##name
#define HALO_NOTIFICATION_CONST(name) _ZNK4absl7debian312Notification##name
#define HALO_CAT(a, b) HALO_CAT_(a, b)
#define HALO_CAT_(a, b) a##b
#define HALO_REAL(symbol) HALO_CAT(__real_, symbol)
#define HALO_WRAP(symbol) HALO_CAT(__wrap_, symbol)

extern "C" void __tsan_ignore_thread_begin();
extern "C" void __tsan_ignore_thread_end();

namespace {
void* Sync(const void* object) { return const_cast<void*>(object); }

// Inside the library, a thread that unlocks evaluates the conditions other
// threads wait on, which read their stacks and the state the mutex guards;
// the library's own lock orders that, unseen, so those reads are not
// judged. A waiting thread's own evaluations are under the mutex.
struct Unjudged {
  Unjudged() { __tsan_ignore_thread_begin(); }
  ~Unjudged() { __tsan_ignore_thread_end(); }
};
}  // namespace

extern "C" {

#define HALO_DECLARE(ret, symbol, ...) \
  ret HALO_REAL(symbol)(__VA_ARGS__);  \
  ret HALO_WRAP(symbol)(__VA_ARGS__)

HALO_DECLARE(void, HALO_MUTEX(4LockEv), absl::Mutex* mu) {
  HALO_REAL(HALO_MUTEX(4LockEv))(mu);
  __tsan_acquire(Sync(mu));
}
HALO_DECLARE(void, HALO_MUTEX(10ReaderLockEv), absl::Mutex* mu) {
  HALO_REAL(HALO_MUTEX(10ReaderLockEv))(mu);
  __tsan_acquire(Sync(mu));
}
HALO_DECLARE(bool, HALO_MUTEX(7TryLockEv), absl::Mutex* mu) {
  const bool locked = HALO_REAL(HALO_MUTEX(7TryLockEv))(mu);
  if (locked) __tsan_acquire(Sync(mu));
  return locked;
}
HALO_DECLARE(void, HALO_MUTEX(8LockWhenERKNS0_9ConditionE), absl::Mutex* mu, const absl::Condition& condition) {
  {
    Unjudged unjudged;
    HALO_REAL(HALO_MUTEX(8LockWhenERKNS0_9ConditionE))(mu, condition);
  }
  __tsan_acquire(Sync(mu));
}
HALO_DECLARE(void, HALO_MUTEX(6UnlockEv), absl::Mutex* mu) {
  __tsan_release(Sync(mu));
  Unjudged unjudged;
  HALO_REAL(HALO_MUTEX(6UnlockEv))(mu);
}
HALO_DECLARE(void, HALO_MUTEX(12ReaderUnlockEv), absl::Mutex* mu) {
  __tsan_release(Sync(mu));
  Unjudged unjudged;
  HALO_REAL(HALO_MUTEX(12ReaderUnlockEv))(mu);
}
// A wait lets the mutex go and takes it again.
HALO_DECLARE(void, HALO_MUTEX(5AwaitERKNS0_9ConditionE), absl::Mutex* mu, const absl::Condition& condition) {
  __tsan_release(Sync(mu));
  {
    Unjudged unjudged;
    HALO_REAL(HALO_MUTEX(5AwaitERKNS0_9ConditionE))(mu, condition);
  }
  __tsan_acquire(Sync(mu));
}
HALO_DECLARE(bool, HALO_MUTEX(16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE), absl::Mutex* mu,
             const absl::Condition& condition, absl::Duration timeout) {
  __tsan_release(Sync(mu));
  bool met;
  {
    Unjudged unjudged;
    met = HALO_REAL(HALO_MUTEX(16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE))(mu, condition, timeout);
  }
  __tsan_acquire(Sync(mu));
  return met;
}
HALO_DECLARE(void, HALO_NOTIFICATION(6NotifyEv), absl::Notification* n) {
  __tsan_release(Sync(n));
  HALO_REAL(HALO_NOTIFICATION(6NotifyEv))(n);
}
HALO_DECLARE(void, HALO_NOTIFICATION_CONST(19WaitForNotificationEv), const absl::Notification* n) {
  HALO_REAL(HALO_NOTIFICATION_CONST(19WaitForNotificationEv))(n);
  __tsan_acquire(Sync(n));
}
HALO_DECLARE(bool, HALO_NOTIFICATION_CONST(30WaitForNotificationWithTimeoutENS0_8DurationE),
             const absl::Notification* n, absl::Duration timeout) {
  const bool notified =
      HALO_REAL(HALO_NOTIFICATION_CONST(30WaitForNotificationWithTimeoutENS0_8DurationE))(n, timeout);
  if (notified) __tsan_acquire(Sync(n));
  return notified;
}

}  // extern "C"
