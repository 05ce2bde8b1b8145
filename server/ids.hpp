// collab-bridge: client ids. A bridge issues each connection an id (its ShareDB `src`) signed with a secret kept in
// the database, so that any bridge recognises an id issued by another when a client reconnects with it.
#pragma once

#include <string>
#include <string_view>

namespace collab::bridge {

class ClientIds {
  public:
    // secret: the hex text of collab.bridge_client_id_secret().
    void set_secret(std::string secret) { secret_ = std::move(secret); }
    bool ready() const { return !secret_.empty(); }
    // 32 random hex digits followed by 24 hex digits of HMAC-SHA256(secret, random ":" user): an id is bound to the
    // user it was issued to (the extension checks the same binding on every submit).
    std::string issue(std::string_view user) const;
    bool verify(std::string_view id, std::string_view user) const;

  private:
    std::string mac(std::string_view random_part, std::string_view user) const;
    std::string secret_;
};

} // namespace collab::bridge
