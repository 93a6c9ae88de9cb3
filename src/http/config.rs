//! Server configuration: a TOML file (`serve --config`), an auth file with roles and hashed
//! bearer tokens (`serve --auth`), and environment overrides, applied in that order.
//!
//! Inputs: file text and environment variables. Output: a validated [`ServeConfig`]. Tokens are
//! stored only as SHA-256 hashes; a plain-text token in a file is refused.
//! Must not depend on the state, axum or any handler module.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Roles, from least to most trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Anyone, without a token.
    #[default]
    Public,
    /// A municipal or care-organisation planner.
    Planner,
    /// May import data.
    Admin,
}

impl Role {
    /// The role's name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Public => "public",
            Role::Planner => "planner",
            Role::Admin => "admin",
        }
    }

    fn parse(s: &str) -> Option<Role> {
        match s.trim() {
            "public" => Some(Role::Public),
            "planner" => Some(Role::Planner),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// One bearer token, by hash.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    /// Who holds it (for logs; never the token itself).
    pub name: String,
    /// The role it grants.
    pub role: Role,
    /// Lower-case hex SHA-256 of the token (`printf %s TOKEN | sha256sum`).
    pub sha256: String,
}

/// Who may read what, and the tokens.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// The least role that may read collections and tiles (default `public`).
    pub read: Role,
    /// Per-collection overrides of `read`, e.g. `clusters = "planner"`.
    pub collections: BTreeMap<String, Role>,
    /// The bearer tokens.
    pub tokens: Vec<TokenEntry>,
}

/// Everything `serve` can be told besides the address.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// The URL clients reach the server at, for links (default: `http://` + the Host header).
    pub public_url: Option<String>,
    /// Origins allowed by CORS; `["*"]` for any, without credentials (the default, so a map
    /// on another site can read the public data); `[]` for no CORS headers.
    pub cors_origins: Vec<String>,
    /// Accept a token as the `apikey` query parameter (for desktop clients that cannot send
    /// a header). Off by default: a URL ends up in proxies' and browsers' histories. The
    /// parameter is removed before the request is routed, so it is never logged or echoed.
    pub apikey_param: bool,
    /// Build links from `X-Forwarded-Proto` and `X-Forwarded-Host` (behind a reverse proxy
    /// that sets them). Off by default: a client could otherwise choose the links' host.
    pub trust_forwarded: bool,
    /// Largest request body (uploads), MiB.
    pub body_limit_mb: u64,
    /// Longest a request may take, seconds.
    pub request_timeout_s: u64,
    /// Longest a connection may take to send a complete request header, seconds; it is also
    /// the idle time a kept-alive connection may wait for its next request. Then it is closed.
    pub header_read_timeout_s: u64,
    /// Most connections open at once (capped further by the process's open-file limit). When
    /// full, the oldest connection that is not in a request (a slow or idle one) is closed to
    /// make room; if every one is in a request the new connection is closed.
    pub max_connections: u64,
    /// New parameter sets (analyses not yet cached) one client address may start per minute;
    /// past it the answer is 429 with `Retry-After`. 0: no limit.
    pub new_sets_per_minute: u64,
    /// How many new parameter sets a client may start at once before the per-minute rate
    /// applies.
    pub new_sets_burst: u64,
    /// Parameter sets whose results (collections and tiles) are kept in memory; the oldest is
    /// dropped past it. The main bound on the server's memory besides the data itself.
    pub result_cache: u64,
    /// Roles and tokens (or in a separate file with `--auth`).
    pub auth: AuthConfig,
    /// The folder with the web map (`index.html`, and `node_modules/maplibre-gl` from
    /// `npm ci`); default: `web/` in the working directory, else in the source tree.
    pub web_dir: Option<std::path::PathBuf>,
    /// An XYZ raster tile URL for the web map's background, with `{z}`, `{x}` and `{y}`
    /// (e.g. PDOK's BRT-Achtergrondkaart); default none: a plain background, and the page
    /// asks no host but this service.
    pub basemap_url: Option<String>,
    /// The attribution shown with the basemap (e.g. "Kaartgegevens © Kadaster").
    pub basemap_attribution: Option<String>,
    /// The weights/criteria file (TOML, as `config/weights.toml`, with any `[[indicator]]`)
    /// the server scores with and offers as defaults; env `BUURTCIRKEL_WEIGHTS` overrides it.
    /// Default: the documented built-in weights.
    pub weights_file: Option<std::path::PathBuf>,
    /// The weights read from `weights_file` when the configuration is loaded.
    #[serde(skip)]
    pub weights: crate::analysis::weights::Weights,
}

impl Default for ServeConfig {
    fn default() -> ServeConfig {
        ServeConfig {
            public_url: None,
            cors_origins: vec!["*".to_string()],
            apikey_param: false,
            trust_forwarded: false,
            body_limit_mb: 200,
            request_timeout_s: 120,
            header_read_timeout_s: 10,
            max_connections: 1024,
            new_sets_per_minute: 30,
            new_sets_burst: 10,
            result_cache: 16,
            auth: AuthConfig::default(),
            web_dir: None,
            basemap_url: None,
            basemap_attribution: None,
            weights_file: None,
            weights: crate::analysis::weights::Weights::default(),
        }
    }
}

/// Why a configuration is refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not valid.
    #[error("{path}: {message}")]
    Invalid {
        /// The file (or variable).
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl ServeConfig {
    /// Reads the optional config and auth files, then applies `BUURTCIRKEL_*` overrides from
    /// `env` (a function so tests need not touch the process environment).
    pub fn load(
        config: Option<&Path>,
        auth: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ServeConfig, ConfigError> {
        let mut cfg: ServeConfig = match config {
            Some(p) => parse(p)?,
            None => ServeConfig::default(),
        };
        if let Some(p) = auth {
            cfg.auth = parse(p)?;
        }
        let bad = |var: &str, message: String| ConfigError::Invalid {
            path: format!("environment variable {var}"),
            message,
        };
        if let Some(v) = env("BUURTCIRKEL_PUBLIC_URL") {
            cfg.public_url = Some(v);
        }
        if let Some(v) = env("BUURTCIRKEL_CORS_ORIGINS") {
            cfg.cors_origins = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
        }
        for (var, slot) in [
            ("BUURTCIRKEL_APIKEY_PARAM", &mut cfg.apikey_param),
            ("BUURTCIRKEL_TRUST_FORWARDED", &mut cfg.trust_forwarded),
        ] {
            if let Some(v) = env(var) {
                *slot = match v.trim() {
                    "1" | "true" | "yes" | "on" => true,
                    "0" | "false" | "no" | "off" | "" => false,
                    _ => return Err(bad(var, format!("'{v}' is not true or false"))),
                };
            }
        }
        for (var, slot) in [
            ("BUURTCIRKEL_BODY_LIMIT_MB", &mut cfg.body_limit_mb),
            ("BUURTCIRKEL_REQUEST_TIMEOUT_S", &mut cfg.request_timeout_s),
            (
                "BUURTCIRKEL_HEADER_READ_TIMEOUT_S",
                &mut cfg.header_read_timeout_s,
            ),
            ("BUURTCIRKEL_MAX_CONNECTIONS", &mut cfg.max_connections),
            (
                "BUURTCIRKEL_NEW_SETS_PER_MINUTE",
                &mut cfg.new_sets_per_minute,
            ),
            ("BUURTCIRKEL_NEW_SETS_BURST", &mut cfg.new_sets_burst),
            ("BUURTCIRKEL_RESULT_CACHE", &mut cfg.result_cache),
        ] {
            if let Some(v) = env(var) {
                *slot = v
                    .trim()
                    .parse()
                    .map_err(|_| bad(var, format!("'{v}' is not a whole number")))?;
            }
        }
        if let Some(v) = env("BUURTCIRKEL_WEB_DIR") {
            cfg.web_dir = Some(v.into());
        }
        if let Some(v) = env("BUURTCIRKEL_BASEMAP_URL") {
            cfg.basemap_url = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = env("BUURTCIRKEL_BASEMAP_ATTRIBUTION") {
            cfg.basemap_attribution = Some(v);
        }
        if let Some(v) = env("BUURTCIRKEL_WEIGHTS") {
            cfg.weights_file =
                Some(v.into()).filter(|p: &std::path::PathBuf| !p.as_os_str().is_empty());
        }
        if let Some(p) = &cfg.weights_file {
            let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Io {
                path: p.display().to_string(),
                source,
            })?;
            cfg.weights = crate::analysis::weights::Weights::from_toml_str(&text).map_err(|e| {
                ConfigError::Invalid {
                    path: format!("weights file {}", p.display()),
                    message: e.to_string(),
                }
            })?;
        }
        if let Some(v) = env("BUURTCIRKEL_READ_ROLE") {
            cfg.auth.read = Role::parse(&v).ok_or_else(|| {
                bad(
                    "BUURTCIRKEL_READ_ROLE",
                    format!("'{v}' is not a role; expected public, planner or admin"),
                )
            })?;
        }
        cfg.validate().map_err(|message| ConfigError::Invalid {
            path: config
                .or(auth)
                .map_or_else(|| "configuration".into(), |p| p.display().to_string()),
            message,
        })?;
        Ok(cfg)
    }

    fn validate(&mut self) -> Result<(), String> {
        for t in &mut self.auth.tokens {
            t.sha256 = t.sha256.trim().to_ascii_lowercase();
            if t.sha256.len() != 64 || !t.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "token '{}': sha256 must be 64 hex digits (printf %s TOKEN | sha256sum)",
                    t.name
                ));
            }
        }
        for c in self.auth.collections.keys() {
            if !crate::release::layers::COLLECTIONS.contains(&c.as_str()) {
                return Err(format!(
                    "auth.collections: unknown collection '{c}'; expected one of {}",
                    crate::release::layers::COLLECTIONS.join(", ")
                ));
            }
        }
        if let Some(u) = &self.basemap_url {
            check_basemap_url(u)?;
        }
        if self.body_limit_mb == 0 || self.request_timeout_s == 0 {
            return Err("body_limit_mb and request_timeout_s must be above 0".into());
        }
        if self.header_read_timeout_s == 0 || self.max_connections == 0 || self.result_cache == 0 {
            return Err(
                "header_read_timeout_s, max_connections and result_cache must be above 0".into(),
            );
        }
        if self.new_sets_per_minute > 0 && self.new_sets_burst == 0 {
            return Err("new_sets_burst must be above 0 when new_sets_per_minute is set".into());
        }
        Ok(())
    }

    /// The role a bearer token grants: `public` without a token, `Err` for an unknown one.
    pub fn role_of(&self, bearer: Option<&str>) -> Result<Role, UnknownToken> {
        let Some(token) = bearer else {
            return Ok(Role::Public);
        };
        let hash = sha256_hex(token);
        self.auth
            .tokens
            .iter()
            .find(|t| t.sha256 == hash)
            .map(|t| t.role)
            .ok_or(UnknownToken)
    }

    /// The least role that may read `collection` (or the service as a whole for `None`).
    pub fn read_role(&self, collection: Option<&str>) -> Role {
        collection
            .and_then(|c| self.auth.collections.get(c).copied())
            .unwrap_or(self.auth.read)
    }
}

/// Checks a basemap tile URL: http(s) with the `{z}`, `{x}` and `{y}` placeholders.
pub fn check_basemap_url(url: &str) -> Result<(), String> {
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    let placeholders_ok = ["{z}", "{x}", "{y}"].iter().all(|p| url.contains(p));
    if scheme_ok && placeholders_ok {
        Ok(())
    } else {
        Err(format!(
            "basemap_url '{url}' is not an http(s) XYZ tile URL; expected one with {{z}}, {{x}} and {{y}}, e.g. https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{{z}}/{{x}}/{{y}}.png"
        ))
    }
}

/// A bearer token that matches no configured hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the bearer token is not valid")]
pub struct UnknownToken;

/// Lower-case hex SHA-256 of a text.
pub fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse<T: for<'de> Deserialize<'de>>(p: &Path) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Io {
        path: p.display().to_string(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Invalid {
        path: p.display().to_string(),
        message: e.to_string().trim_end().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_text_token_in_the_auth_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("auth.toml");
        std::fs::write(
            &p,
            "[[tokens]]\nname = \"x\"\nrole = \"admin\"\ntoken = \"geheim\"\n",
        )
        .unwrap();
        let err = ServeConfig::load(None, Some(&p), |_| None).unwrap_err();
        assert!(err.to_string().contains("token"), "{err}");
    }

    #[test]
    fn a_basemap_url_without_tile_placeholders_is_refused() {
        let err = ServeConfig::load(None, None, |v| {
            (v == "BUURTCIRKEL_BASEMAP_URL").then(|| "https://example.org/kaart.png".to_string())
        })
        .unwrap_err();
        assert!(err.to_string().contains("{z}"), "{err}");
        let ok = ServeConfig::load(None, None, |v| {
            (v == "BUURTCIRKEL_BASEMAP_URL")
                .then(|| "https://t.example/{z}/{x}/{y}.png".to_string())
        })
        .unwrap();
        assert_eq!(
            ok.basemap_url.as_deref(),
            Some("https://t.example/{z}/{x}/{y}.png")
        );
    }

    #[test]
    fn tokens_are_matched_by_hash_and_env_overrides_the_read_role() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("auth.toml");
        std::fs::write(
            &p,
            format!(
                "read = \"public\"\n[collections]\nclusters = \"planner\"\n[[tokens]]\nname = \"beheer\"\nrole = \"admin\"\nsha256 = \"{}\"\n",
                sha256_hex("s3cret")
            ),
        )
        .unwrap();
        let cfg = ServeConfig::load(None, Some(&p), |v| {
            (v == "BUURTCIRKEL_READ_ROLE").then(|| "planner".to_string())
        })
        .unwrap();
        assert_eq!(cfg.role_of(Some("s3cret")), Ok(Role::Admin));
        assert_eq!(cfg.role_of(Some("guess")), Err(UnknownToken));
        assert_eq!(cfg.role_of(None), Ok(Role::Public));
        assert_eq!(cfg.read_role(Some("buurten")), Role::Planner);
        assert_eq!(cfg.read_role(Some("clusters")), Role::Planner);
    }
}
