#pragma once
// A throwaway PKI for tests: a CA and a server certificate for 127.0.0.1 and localhost, made
// with OpenSSL at test time so no key material is kept in the repository.

#include <filesystem>
#include <string>

namespace certq::sim {

struct test_pki {
    std::string ca_pem;          ///< the CA certificate, for the client's ca_file
    std::string server_cert_pem; ///< the server certificate
    std::string server_key_pem;  ///< its private key
};

/// Generates a fresh CA and a server certificate (EC P-256, valid for a day) whose subject
/// alternative names are IP:127.0.0.1 and DNS:localhost. Throws std::runtime_error.
test_pki make_test_pki();

/// Writes the CA certificate to `path` (for certqd's azion.ca_file).
void write_file(const std::filesystem::path& path, const std::string& text);

} // namespace certq::sim
