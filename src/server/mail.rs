//! Mail to people with a local account: the link that confirms their address, the link that
//! lets them choose a new password. It goes out over SMTP (`SMTP_URL`) through `lettre`, a kept
//! mail crate with a pooled async transport. Without `SMTP_URL` (the embedded default) each
//! message is written to the outbox directory (`MAIL_OUTBOX_DIR`, `data/outbox` by default) as an
//! `.eml` file, and a log line says where, so a first run works with no mail server. The log line
//! never holds the message's text: the links in it open the account.

use crate::domain::EmailAddress;
use crate::server::config::MailConfig;
use lettre::{
    message::{header::ContentType, Mailbox},
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use secrecy::ExposeSecret;
use std::path::PathBuf;

/// One message: to whom, about what, and its plain text.
#[derive(Debug)]
pub struct Mail<'a> {
    pub to: &'a EmailAddress,
    pub subject: &'a str,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("SMTP_URL is not a mail server address lettre understands")]
    Url(#[source] lettre::transport::smtp::Error),
    #[error("the message could not be built")]
    Build(#[source] lettre::error::Error),
    #[error("the recipient's address was refused")]
    Address(#[source] lettre::address::AddressError),
    #[error("the mail server did not take the message")]
    Smtp(#[source] lettre::transport::smtp::Error),
    #[error("the message could not be written to the outbox")]
    Outbox(#[source] std::io::Error),
    #[error("the message could not be written to the outbox")]
    File(#[source] lettre::transport::file::Error),
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox {
        files: AsyncFileTransport<Tokio1Executor>,
        dir: PathBuf,
    },
}

pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl Mailer {
    /// The transport the config names. Nothing is connected yet: a mail server that is down is
    /// found out when a message is sent, not at startup.
    pub fn new(config: &MailConfig) -> Result<Self, MailError> {
        let transport = match &config.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(MailError::Url)?
                    .build(),
            ),
            None => Transport::Outbox {
                files: AsyncFileTransport::<Tokio1Executor>::new(&config.outbox_dir),
                dir: config.outbox_dir.clone(),
            },
        };
        Ok(Self {
            from: config.from.clone(),
            transport,
        })
    }

    /// Sends `mail`.
    pub async fn send(&self, mail: Mail<'_>) -> Result<(), MailError> {
        let to = mail.to.as_str().parse().map_err(MailError::Address)?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(mail.text)
            .map_err(MailError::Build)?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await.map_err(MailError::Smtp)?;
                tracing::info!(to = ?mail.to, subject = mail.subject, "mail sent");
            }
            Transport::Outbox { files, dir } => {
                tokio::fs::create_dir_all(dir).await.map_err(MailError::Outbox)?;
                let id = files.send(message).await.map_err(MailError::File)?;
                let file = dir.join(format!("{id}.eml"));
                tracing::info!(
                    to = ?mail.to,
                    subject = mail.subject,
                    file = %file.display(),
                    "no SMTP_URL: the mail is in the outbox"
                );
            }
        }
        Ok(())
    }
}
