// libcurl is opened when dockform first needs it, not when the process
// starts. Debian's libcurl brings some 25 libraries (GnuTLS through librtmp,
// Kerberos, LDAP, libssh2, ...) whose loading and initialisation took about
// 25 ms of every start: half of a `volume ls` that needs no network at all
// (docs/benchmarks.md, "Start-up"). The binary is therefore not linked with
// libcurl; the few functions dockform calls are defined here and forward to
// the library, which load_curl() opens with dlopen.
//
// Kept out of the unity build (CMakeLists.txt): the names below are
// parenthesised so that curl.h's type-checking macros do not expand them, but
// a batch must not see this file's definitions either.
#include <curl/curl.h>
#include <dlfcn.h>

#include <cstdarg>
#include <mutex>
#include <string>

#include "dockform/util/curl.hpp"
#include "dockform/util/error.hpp"

namespace dockform::util {

namespace {
// libcurl's SONAME since 2006 (libcurl4, the OpenSSL flavour, in Debian).
constexpr const char* kCurlSoname = "libcurl.so.4";

struct CurlLibrary {
  decltype(&::curl_global_init) global_init = nullptr;
  decltype(&::curl_easy_init) easy_init = nullptr;
  decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&::curl_easy_reset) easy_reset = nullptr;
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...) = nullptr;
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...) = nullptr;
  decltype(&::curl_easy_perform) easy_perform = nullptr;
  decltype(&::curl_easy_strerror) easy_strerror = nullptr;
  decltype(&::curl_easy_recv) easy_recv = nullptr;
  decltype(&::curl_easy_send) easy_send = nullptr;
  decltype(&::curl_slist_append) slist_append = nullptr;
  decltype(&::curl_slist_free_all) slist_free_all = nullptr;
};

template <typename Fn>
void bind(void* handle, const char* name, Fn& fn) {
  void* symbol = dlsym(handle, name);
  if (symbol == nullptr) throw Error(std::string(kCurlSoname) + " has no " + name);
  fn = reinterpret_cast<Fn>(symbol);
}

CurlLibrary open_library() {
  // RTLD_LOCAL: libcurl's symbols serve only the calls below. The handle is
  // never closed: libcurl keeps threads and global state for the process.
  void* handle = dlopen(kCurlSoname, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    throw Error(std::string("cannot load libcurl (") + (why != nullptr ? why : kCurlSoname) +
                "): install the libcurl4 package");
  }
  CurlLibrary lib;
  bind(handle, "curl_global_init", lib.global_init);
  bind(handle, "curl_easy_init", lib.easy_init);
  bind(handle, "curl_easy_cleanup", lib.easy_cleanup);
  bind(handle, "curl_easy_reset", lib.easy_reset);
  bind(handle, "curl_easy_setopt", lib.easy_setopt);
  bind(handle, "curl_easy_getinfo", lib.easy_getinfo);
  bind(handle, "curl_easy_perform", lib.easy_perform);
  bind(handle, "curl_easy_strerror", lib.easy_strerror);
  bind(handle, "curl_easy_recv", lib.easy_recv);
  bind(handle, "curl_easy_send", lib.easy_send);
  bind(handle, "curl_slist_append", lib.slist_append);
  bind(handle, "curl_slist_free_all", lib.slist_free_all);
  return lib;
}

// Opened once; a failure is kept and thrown again to every caller.
const CurlLibrary& library() {
  static std::once_flag once;
  static CurlLibrary lib;
  static std::string failure;
  std::call_once(once, [] {
    try {
      lib = open_library();
    } catch (const Error& e) {
      failure = e.what();
    }
  });
  if (!failure.empty()) throw Error(failure);
  return lib;
}
}  // namespace

void load_curl() { static_cast<void>(library()); }

}  // namespace dockform::util

using dockform::util::library;

// The definitions of curl.h's declarations (C linkage, as declared there).
// The ones below are reached only once load_curl() succeeded: make_curl_easy
// and CurlHeaders::add call it first, and every other call needs a handle.
extern "C" {

CURLcode(curl_global_init)(long flags) { return library().global_init(flags); }
CURL*(curl_easy_init)(void) { return library().easy_init(); }
void(curl_easy_cleanup)(CURL* curl) { library().easy_cleanup(curl); }
void(curl_easy_reset)(CURL* curl) { library().easy_reset(curl); }
CURLcode(curl_easy_perform)(CURL* curl) { return library().easy_perform(curl); }
const char*(curl_easy_strerror)(CURLcode code) { return library().easy_strerror(code); }
CURLcode(curl_easy_recv)(CURL* curl, void* buffer, size_t length, size_t* n) {
  return library().easy_recv(curl, buffer, length, n);
}
CURLcode(curl_easy_send)(CURL* curl, const void* buffer, size_t length, size_t* n) {
  return library().easy_send(curl, buffer, length, n);
}
curl_slist*(curl_slist_append)(curl_slist* list, const char* text) { return library().slist_append(list, text); }
void(curl_slist_free_all)(curl_slist* list) { library().slist_free_all(list); }

// The option's number says the type of its one argument (curl.h's
// CURLOPTTYPE_* ranges): a long, a pointer (data, string, list or callback),
// a curl_off_t, or a blob's address. It is read as that type and passed on.
CURLcode(curl_easy_setopt)(CURL* curl, CURLoption option, ...) {
  va_list args;
  va_start(args, option);
  CURLcode code;
  if (option < CURLOPTTYPE_OBJECTPOINT) {
    code = library().easy_setopt(curl, option, va_arg(args, long));
  } else if (option >= CURLOPTTYPE_OFF_T && option < CURLOPTTYPE_BLOB) {
    code = library().easy_setopt(curl, option, va_arg(args, curl_off_t));
  } else {
    code = library().easy_setopt(curl, option, va_arg(args, void*));
  }
  va_end(args);
  return code;
}

// Every CURLINFO takes the address of the result.
CURLcode(curl_easy_getinfo)(CURL* curl, CURLINFO info, ...) {
  va_list args;
  va_start(args, info);
  void* result = va_arg(args, void*);
  va_end(args);
  return library().easy_getinfo(curl, info, result);
}

}  // extern "C"
