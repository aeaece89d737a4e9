//! Local accounts, for people without Bluesky: signing up with an email address and a password,
//! confirming the address by an emailed link, signing in, and choosing a new password by an
//! emailed link.
//!
//! - Passwords are hashed with Argon2id (`password-auth`, RustCrypto's wrapper that picks OWASP's
//!   parameters), on the blocking pool: a hash takes tens of milliseconds of CPU.
//! - A password is refused when it is short or guessable: `zxcvbn` estimates how many guesses it
//!   takes, knowing the common passwords, words, names, keyboard patterns and dates, and the
//!   person's own name and address.
//! - Sign-up, sign-in and "forgot my password" answer the same whether or not an address has an
//!   account, so none of them tells a stranger who is a member: sign-up with a taken address
//!   mails its owner instead; a sign-in with an unknown address still spends a hash's time.
//! - Sign-in attempts are counted per address and per client, on the shared key-value store.
//! - Links carry a random token; only its SHA-256 is stored, and each works once, until it
//!   expires.

use crate::domain::{DisplayName, EmailAddress};
use crate::server::{
    kv::{KvError, KvStore},
    mail::{Mail, MailError, Mailer},
    store::{Store, StoreError, TokenPurpose, TokenRefused, User},
};
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use std::{
    net::IpAddr,
    sync::{Arc, LazyLock},
    time::Duration,
};
use url::Url;

/// The shortest password accepted.
pub const PASSWORD_MIN_CHARS: usize = 10;
/// The longest: hashing is costly, and nobody types more.
pub const PASSWORD_MAX_CHARS: usize = 128;
/// How long a link that confirms an address works.
const VERIFY_LINK_TTL: Duration = Duration::from_secs(48 * 3600);
/// How long a link to choose a new password works.
const RESET_LINK_TTL: Duration = Duration::from_secs(3600);
/// Sign-in attempts counted over this long...
const SIGN_IN_WINDOW: Duration = Duration::from_secs(15 * 60);
/// ...at most this many for one address (whoever tries it)...
const SIGN_IN_TRIES_PER_ACCOUNT: u64 = 10;
/// ...and this many from one client (whichever addresses it tries).
const SIGN_IN_TRIES_PER_CLIENT: u64 = 30;
/// Links mailed to one address over [`SIGN_IN_WINDOW`] at most: nobody can flood an inbox.
const MAILS_PER_ADDRESS: u64 = 5;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("the password is too weak: {0}")]
    WeakPassword(String),
    #[error("the address or the password is wrong")]
    WrongCredentials,
    #[error("the address is not confirmed yet")]
    Unconfirmed,
    #[error("too many tries; wait a few minutes")]
    Throttled,
    #[error("the account is disabled")]
    Disabled,
    #[error("the link does not work: {0}")]
    Link(TokenRefused),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Kv(#[from] KvError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error("hashing the password failed")]
    Hashing,
    #[error("PUBLIC_URL cannot hold a link")]
    PublicUrl,
}

pub struct Accounts {
    store: Store,
    kv: KvStore,
    mailer: Arc<Mailer>,
    public_url: Url,
}

impl Accounts {
    pub fn new(store: Store, kv: KvStore, mailer: Arc<Mailer>, public_url: Url) -> Self {
        Self {
            store,
            kv,
            mailer,
            public_url,
        }
    }

    /// Signs up `name` with `email`: an account waiting for its address to be confirmed, and a
    /// link to confirm it in the mail. When the address has an account already, its owner gets a
    /// note instead (and the caller learns nothing).
    pub async fn sign_up(
        &self,
        name: &DisplayName,
        email: &EmailAddress,
        password: &SecretString,
    ) -> Result<(), AccountError> {
        check_password(password, &[email.as_str(), email.local_part(), name.as_str()])?;
        if !self.may_mail(email).await? {
            return Ok(());
        }
        let hash = hash_password(password).await?;
        match self.store.create_local_account(name.as_str(), email, &hash).await? {
            Some(user) => self.mail_link(user.id, email, TokenPurpose::Verify).await,
            None => {
                let text = format!(
                    "Someone (perhaps you) tried to make a Skymeet account with this address, which has one \
                     already.\n\nSign in at {}login, or choose a new password at {}reset-password.\n\nIf it was \
                     not you, nothing has changed and you need not do anything.\n",
                    self.public_url, self.public_url
                );
                self.mailer
                    .send(Mail {
                        to: email,
                        subject: "You already have a Skymeet account",
                        text,
                    })
                    .await?;
                Ok(())
            }
        }
    }

    /// Confirms the address the link `token` was sent to; the account it belongs to.
    pub async fn confirm(&self, token: &str) -> Result<User, AccountError> {
        let user_id = self.use_link(token, TokenPurpose::Verify).await?;
        self.store.mark_email_verified(user_id, Utc::now()).await?;
        self.active_user(user_id).await
    }

    /// The account `email` and `password` sign in to, from `client`.
    pub async fn sign_in(
        &self,
        email: &EmailAddress,
        password: &SecretString,
        client: IpAddr,
    ) -> Result<User, AccountError> {
        let by_account = self
            .kv
            .count(
                &format!("sign-in:account:{}", token_hash(email.as_str())),
                SIGN_IN_WINDOW,
            )
            .await?;
        let by_client = self
            .kv
            .count(&format!("sign-in:client:{client}"), SIGN_IN_WINDOW)
            .await?;
        if by_account > SIGN_IN_TRIES_PER_ACCOUNT || by_client > SIGN_IN_TRIES_PER_CLIENT {
            return Err(AccountError::Throttled);
        }
        let login = self.store.local_login_by_email(email).await?;
        // Without an account, a hash is still checked, so the answer takes as long either way.
        let hash = match &login {
            Some(login) => login.password_hash.clone(),
            None => SecretString::from(UNKNOWN_ACCOUNT_HASH.clone()),
        };
        let matches = verify_password(password, hash).await?;
        let Some(login) = login.filter(|_| matches) else {
            return Err(AccountError::WrongCredentials);
        };
        if login.email_verified_at.is_none() {
            // The password is right, so the person may hear that: a fresh link goes out.
            if self.may_mail(email).await? {
                self.mail_link(login.user_id, email, TokenPurpose::Verify).await?;
            }
            return Err(AccountError::Unconfirmed);
        }
        self.active_user(login.user_id).await
    }

    /// Mails a link to choose a new password, when `email` has an account; says nothing either way.
    pub async fn request_reset(&self, email: &EmailAddress) -> Result<(), AccountError> {
        let Some(login) = self.store.local_login_by_email(email).await? else {
            return Ok(());
        };
        if self.may_mail(email).await? {
            // Sent after the answer: how long it takes must not tell whether the address is known.
            let (store, mailer, public_url, email) = (
                self.store.clone(),
                Arc::clone(&self.mailer),
                self.public_url.clone(),
                email.clone(),
            );
            tokio::spawn(async move {
                let sent = mail_link(&store, &mailer, &public_url, login.user_id, &email, TokenPurpose::Reset).await;
                if let Err(e) = sent {
                    tracing::error!(error = %crate::server::error::Chain(&e), to = ?email, "the reset link could not be sent");
                }
            });
        }
        Ok(())
    }

    /// Sets a new password through the link `token`: every session of the account ends (a thief's
    /// too), and the address counts as confirmed (the link reached it).
    pub async fn reset(&self, token: &str, password: &SecretString) -> Result<User, AccountError> {
        // Checked before the link is used, so a weak password does not spend the link.
        check_password(password, &[])?;
        let user_id = self.use_link(token, TokenPurpose::Reset).await?;
        let hash = hash_password(password).await?;
        self.store.set_password(user_id, &hash).await?;
        self.store.mark_email_verified(user_id, Utc::now()).await?;
        self.active_user(user_id).await
    }

    async fn active_user(&self, user_id: i64) -> Result<User, AccountError> {
        match self.store.user_by_id(user_id).await? {
            Some(user) if user.disabled_at.is_none() => Ok(user),
            Some(_) => Err(AccountError::Disabled),
            None => Err(AccountError::Link(TokenRefused::Unknown)),
        }
    }

    async fn use_link(&self, token: &str, purpose: TokenPurpose) -> Result<i64, AccountError> {
        // A token is 32 random bytes in base64url; anything else was never sent.
        if token.len() != 43
            || !token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(AccountError::Link(TokenRefused::Unknown));
        }
        self.store
            .use_account_token(&token_hash(token), purpose, Utc::now())
            .await?
            .map_err(AccountError::Link)
    }

    /// Whether another mail may go to `email` now.
    async fn may_mail(&self, email: &EmailAddress) -> Result<bool, AccountError> {
        let sent = self
            .kv
            .count(&format!("mail:{}", token_hash(email.as_str())), SIGN_IN_WINDOW)
            .await?;
        if sent > MAILS_PER_ADDRESS {
            tracing::info!(to = ?email, "not mailing: enough mail went to this address lately");
        }
        Ok(sent <= MAILS_PER_ADDRESS)
    }

    async fn mail_link(&self, user_id: i64, email: &EmailAddress, purpose: TokenPurpose) -> Result<(), AccountError> {
        mail_link(&self.store, &self.mailer, &self.public_url, user_id, email, purpose).await
    }
}

/// Mails `email` a new link for `purpose` on `user_id`'s account.
async fn mail_link(
    store: &Store,
    mailer: &Mailer,
    public_url: &Url,
    user_id: i64,
    email: &EmailAddress,
    purpose: TokenPurpose,
) -> Result<(), AccountError> {
    let token = new_token();
    let (ttl, path, subject, intro) = match purpose {
        TokenPurpose::Verify => (
            VERIFY_LINK_TTL,
            "confirm-email",
            "Confirm your address for Skymeet",
            "Welcome to Skymeet. Open this link to confirm your address and sign in:",
        ),
        TokenPurpose::Reset => (
            RESET_LINK_TTL,
            "reset-password/new",
            "Choose a new Skymeet password",
            "Open this link to choose a new password for your Skymeet account:",
        ),
    };
    let expires_at = Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(1));
    store
        .insert_account_token(&token_hash(&token), user_id, purpose, expires_at)
        .await?;
    let mut link = public_url.join(path).map_err(|_| AccountError::PublicUrl)?;
    link.query_pairs_mut().append_pair("token", &token);
    let hours = ttl.as_secs() / 3600;
    let text = format!(
        "{intro}\n\n{link}\n\nThe link works once, for {hours} hour{}. If you did not ask for it, you need not \
         do anything.\n",
        if hours == 1 { "" } else { "s" }
    );
    mailer
        .send(Mail {
            to: email,
            subject,
            text,
        })
        .await?;
    Ok(())
}

/// Refuses a password that is short, overlong or guessable; `context` holds what the person
/// typed elsewhere on the form (a password made of one's own address is easily guessed).
pub fn check_password(password: &SecretString, context: &[&str]) -> Result<(), AccountError> {
    let password = password.expose_secret();
    let chars = password.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        return Err(AccountError::WeakPassword(format!(
            "use at least {PASSWORD_MIN_CHARS} characters"
        )));
    }
    if chars > PASSWORD_MAX_CHARS {
        return Err(AccountError::WeakPassword(format!(
            "use at most {PASSWORD_MAX_CHARS} characters"
        )));
    }
    let estimate = zxcvbn::zxcvbn(password, context);
    if estimate.score() < zxcvbn::Score::Three {
        let hint = estimate
            .feedback()
            .and_then(|feedback| feedback.warning().map(|warning| warning.to_string()))
            .unwrap_or_else(|| "it would be guessed quickly".to_owned());
        return Err(AccountError::WeakPassword(format!(
            "{}. A few unrelated words make a strong one",
            hint.trim_end_matches('.')
        )));
    }
    Ok(())
}

async fn hash_password(password: &SecretString) -> Result<String, AccountError> {
    let password = password.clone();
    tokio::task::spawn_blocking(move || password_auth::generate_hash(password.expose_secret()))
        .await
        .map_err(|_| AccountError::Hashing)
}

async fn verify_password(password: &SecretString, hash: SecretString) -> Result<bool, AccountError> {
    let password = password.clone();
    tokio::task::spawn_blocking(move || {
        password_auth::verify_password(password.expose_secret(), hash.expose_secret()).is_ok()
    })
    .await
    .map_err(|_| AccountError::Hashing)
}

/// The hash checked when an address has no account: of a random password nobody knows, made
/// once per process with the same parameters as real ones, so the check takes as long.
static UNKNOWN_ACCOUNT_HASH: LazyLock<String> = LazyLock::new(|| password_auth::generate_hash(new_token()));

/// 32 random bytes, base64url: the token in a link.
pub fn new_token() -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use chacha20poly1305::aead::{rand_core::RngCore, OsRng};
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored of a token: its SHA-256, hex.
fn token_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(value: &str) -> SecretString {
        SecretString::from(value.to_owned())
    }

    #[test]
    fn short_common_and_personal_passwords_are_refused() {
        for weak in ["short", "password123", "qwertyuiop", "1234567890", "iloveyou12"] {
            assert!(
                matches!(check_password(&secret(weak), &[]), Err(AccountError::WeakPassword(_))),
                "{weak}"
            );
        }
        assert!(check_password(&secret("alice.smith2026"), &["alice.smith@example.org", "alice.smith"]).is_err());
        assert!(check_password(&secret(&"x".repeat(PASSWORD_MAX_CHARS + 1)), &[]).is_err());
        check_password(&secret("correct horse battery staple"), &[]).expect("strong");
        check_password(&secret("quokka-lantern-orbit-47"), &[]).expect("strong");
    }

    #[test]
    fn the_stand_in_hash_is_a_real_hash_nothing_typed_matches() {
        assert!(matches!(
            password_auth::verify_password("", &UNKNOWN_ACCOUNT_HASH),
            Err(password_auth::VerifyError::PasswordInvalid)
        ));
    }

    #[test]
    fn tokens_are_random_and_stored_only_as_hashes() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
