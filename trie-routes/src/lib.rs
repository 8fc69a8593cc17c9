//! trieguard trie-routes (being built).
