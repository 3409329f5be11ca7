#include "io_real/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace nsq::io_real {

namespace ssl = boost::asio::ssl;

std::string go_open_error(const std::string& path) {
  std::ifstream f(path);
  if (f) return {};
  std::string text = std::strerror(errno);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return "open " + path + ": " + text;
}

namespace {

std::string openssl_error(const std::string& what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return what;
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return what + ": " + buf;
}

}  // namespace

std::shared_ptr<ssl::context> make_server_tls_context(const Options& o, std::string& error) {
  error.clear();
  if (o.tls_cert.empty() && o.tls_key.empty()) return nullptr;
  for (const std::string* path : {&o.tls_cert, &o.tls_key}) {
    if (std::string e = go_open_error(*path); !e.empty()) {
      error = e;
      return nullptr;
    }
  }
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  // Go's crypto/tls speaks TLS 1.0..1.3 and never SSL; no renegotiation, no compression.
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_min_proto_version(native, o.tls_min_version);
  // Go's default suites in its preference order (AES-GCM hardware), chosen by the server as Go does, so the
  // suite /stats shows matches nsqd's for the same client.
  SSL_CTX_set_ciphersuites(native, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
  SSL_CTX_set_cipher_list(native,
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                          "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
                          "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
                          "AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA:AES256-SHA");
  SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION);
  if (SSL_CTX_use_certificate_chain_file(native, o.tls_cert.c_str()) != 1) {
    error = openssl_error("tls: failed to load certificate " + o.tls_cert);
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(native, o.tls_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    error = openssl_error("tls: failed to load private key " + o.tls_key);
    return nullptr;
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    error = "tls: private key does not match public key";
    return nullptr;
  }
  if (!o.tls_root_ca_file.empty()) {
    if (std::string e = go_open_error(o.tls_root_ca_file); !e.empty()) {
      error = e;
      return nullptr;
    }
    if (SSL_CTX_load_verify_locations(native, o.tls_root_ca_file.c_str(), nullptr) != 1) {
      ERR_clear_error();
      error = "failed to append certificate to pool";
      return nullptr;
    }
    // The CA names go into the CertificateRequest, as Go sends its ClientCAs' subjects.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.tls_root_ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(native, names);
    }
  } else {
    SSL_CTX_set_default_verify_paths(native);  // Go verifies against the system roots without ClientCAs
  }
  if (o.tls_client_auth_policy == "require") {
    // tls.RequireAnyClientCert: a certificate must be sent, but it is not verified.
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       [](int, X509_STORE_CTX*) { return 1; });
  } else if (o.tls_client_auth_policy == "require-verify") {
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  } else {
    SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);  // tls.NoClientCert: none is requested
  }
  return ctx;
}

std::string go_tls_version_name(int version) {
  switch (version) {
    case TLS1_VERSION: return "TLS1.0";
    case TLS1_1_VERSION: return "TLS1.1";
    case TLS1_2_VERSION: return "TLS1.2";
    case TLS1_3_VERSION: return "TLS1.3";
    default: return "Unknown " + std::to_string(version);
  }
}

std::string go_cipher_suite_name(std::uint16_t id) {
  switch (id) {
    case 0x0005: return "TLS_RSA_WITH_RC4_128_SHA";
    case 0x000a: return "TLS_RSA_WITH_3DES_EDE_CBC_SHA";
    case 0x002f: return "TLS_RSA_WITH_AES_128_CBC_SHA";
    case 0x0035: return "TLS_RSA_WITH_AES_256_CBC_SHA";
    case 0xc007: return "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA";
    case 0xc009: return "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA";
    case 0xc00a: return "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA";
    case 0xc011: return "TLS_ECDHE_RSA_WITH_RC4_128_SHA";
    case 0xc012: return "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA";
    case 0xc013: return "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA";
    case 0xc014: return "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA";
    case 0xc02f: return "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256";
    case 0xc02b: return "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
    default: return "Unknown " + std::to_string(id);
  }
}

}  // namespace nsq::io_real
