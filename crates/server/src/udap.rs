//! UDAP (HL7 FAST Security, STU 2) on the authorization server: trust
//! communities from `[[udap.community]]`, the discovery document with its
//! `signed_metadata` ([`discovery`]), dynamic registration by software
//! statement ([`register`]), and the authentication tokens of registered
//! clients at the token endpoint ([`authenticate`]). The checks themselves
//! are `certbound_oauth::udap`'s; this module adds the communities, the
//! revocation sources, the store and the HTTP.

pub(crate) mod discovery;
pub(crate) mod register;

use std::sync::Mutex;

use certbound_oauth::auth::AuthFailure;
use certbound_oauth::client::{CompiledClient, UdapRegistration};
use certbound_oauth::keys::X5cSigner;
use certbound_oauth::udap::{self, AuthToken, Signed, TokenExpected, UdapError};
use time::OffsetDateTime;

use crate::config::udap::CommunityConfig;
use crate::meta::{REGISTER_PATH, TOKEN_PATH};
use crate::state::AppState;

/// The communities and the URLs UDAP JWTs name.
#[derive(Debug)]
pub struct Udap {
    communities: Vec<Community>,
    /// The issuer URL: `iss` of the signed metadata.
    pub base_url: String,
    pub token_endpoint: String,
    pub registration_endpoint: String,
    /// What a software statement's `aud` may be: the registration endpoint
    /// of the issuer and of each listener (RFC 8705 §5 aliases).
    pub registration_audiences: Vec<String>,
}

/// One trust community, with this server's signer in it.
#[derive(Debug)]
pub struct Community {
    pub config: CommunityConfig,
    signer: X5cSigner,
    /// The `signed_metadata` last made: (iat, JWT).
    metadata: Mutex<Option<(i64, String)>>,
}

impl Udap {
    /// The communities of the configuration; `None` when there are none.
    /// `audiences` are the token endpoint URLs client assertions may name.
    pub fn new(
        configs: &[CommunityConfig],
        issuer: &str,
        audiences: &[String],
    ) -> Result<Option<Self>, String> {
        if configs.is_empty() {
            return Ok(None);
        }
        let communities = configs
            .iter()
            .map(|c| {
                let chain: Vec<Vec<u8>> = c.chain.iter().map(|d| d.to_vec()).collect();
                let signer = X5cSigner::new(&c.key, &chain, None)
                    .map_err(|e| format!("udap community {}: {e}", c.name))?;
                Ok(Community {
                    config: c.clone(),
                    signer,
                    metadata: Mutex::new(None),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let registration_audiences = audiences
            .iter()
            .filter_map(|a| a.strip_suffix(TOKEN_PATH))
            .map(|base| format!("{base}{REGISTER_PATH}"))
            .collect();
        Ok(Some(Self {
            communities,
            base_url: issuer.to_owned(),
            token_endpoint: format!("{issuer}{TOKEN_PATH}"),
            registration_endpoint: format!("{issuer}{REGISTER_PATH}"),
            registration_audiences,
        }))
    }

    /// The community named `name`.
    pub fn community(&self, name: &str) -> Option<&Community> {
        self.communities.iter().find(|c| c.config.name == name)
    }

    /// The first community, served when discovery names none.
    pub fn default_community(&self) -> Option<&Community> {
        self.communities.first()
    }

    /// Every community, in configuration order.
    pub fn communities(&self) -> &[Community] {
        &self.communities
    }
}

/// How long a `signed_metadata` JWT is valid, and how often it is re-made.
const METADATA_LIFETIME_SECS: i64 = 7 * 86_400;
const METADATA_REFRESH_SECS: i64 = 3600;

impl Community {
    /// The `signed_metadata` for this community, made at most hourly (so an
    /// unauthenticated caller cannot make the server sign at will).
    pub fn signed_metadata(&self, udap: &Udap, now: i64) -> Result<String, String> {
        let mut cached = self.metadata.lock().map_err(|_| "poisoned".to_owned())?;
        if let Some((iat, jwt)) = cached.as_ref() {
            if now - iat < METADATA_REFRESH_SECS && *iat <= now {
                return Ok(jwt.clone());
            }
        }
        let claims = udap::metadata_claims(
            &udap.base_url,
            &udap.token_endpoint,
            &udap.registration_endpoint,
            now,
            METADATA_LIFETIME_SECS,
            &uuid::Uuid::new_v4().to_string(),
        );
        let jwt = self.signer.sign(&claims)?;
        *cached = Some((now, jwt.clone()));
        Ok(jwt)
    }

    /// The algorithm of the metadata signature.
    pub fn signing_algorithm(&self) -> certbound_oauth::Algorithm {
        self.signer.algorithm()
    }

    /// Verifies a UDAP JWT's signature and chain to this community's
    /// anchors, with the CRLs in force and the online sources.
    pub async fn verify(
        &self,
        state: &AppState,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Signed, UdapError> {
        let crls = state.crls.as_ref().map(|c| c.check());
        let signed = udap::verify_signed(
            token,
            &self.config.name,
            &self.config.anchors,
            &self.config.intermediates,
            now,
            crls.as_ref(),
        )?;
        crate::online_revocation::check(state, &signed.path, &self.config.anchors)
            .await
            .map_err(|e| UdapError::Untrusted {
                community: self.config.name.clone(),
                reason: e.to_string(),
            })?;
        Ok(signed)
    }
}

/// A UDAP client's authentication token at the token endpoint: verified to
/// the anchors of the community it registered in, from the certificate of
/// the URI it registered as, with the `hl7-b2b` extension when the
/// community requires it. The caller records the `jti`.
pub(crate) async fn authenticate(
    state: &AppState,
    client: &CompiledClient,
    registration: &UdapRegistration,
    token: &str,
    now: OffsetDateTime,
) -> Result<AuthToken, AuthFailure> {
    let community = state
        .udap
        .as_ref()
        .and_then(|u| u.community(&registration.community))
        .ok_or_else(|| AuthFailure::UnknownCommunity {
            community: registration.community.clone(),
        })?;
    let signed = community
        .verify(state, token, now)
        .await
        .map_err(AuthFailure::Udap)?;
    let expected = TokenExpected {
        client_id: &client.id,
        registered_uri: &registration.uri,
        audiences: &state.assertion_audiences,
        b2b_required: community.config.b2b_required,
        now: now.unix_timestamp(),
    };
    udap::check_auth_token(&signed, &expected).map_err(AuthFailure::Udap)
}
