//! Validated types for every value a user types that can end up in a config
//! file, a file name or a command line.
//!
//! # Parse at the edge, parse again from disk
//!
//! Each type can only be built by parsing (`FromStr`, `TryFrom<String>`),
//! which checks and normalizes the value (lowercase, IDN to `xn--`, ...).
//! Code that holds a `Username` or a `DomainName` can therefore write it
//! into an nginx or PHP-FPM file, a path or an argument without escaping or
//! checking again.
//!
//! The same rules run a second time when a value is read back: the serde
//! implementations go through `TryFrom<String>`, so a hand-edited YAML file
//! with `username: "../root"` fails to load instead of smuggling the value
//! past the API checks. Normalized values parse to themselves, so a value
//! written by the panel always reads back unchanged.
//!
//! All types share one error, [`InvalidValue`], whose message is short,
//! user-facing English (`invalid domain name: label 2 is empty`) that never
//! echoes control characters from the input; it can go straight into a 4xx
//! response.
//!
//! [`Password`] is the exception on the way out: it can be parsed and
//! deserialized but never displayed or serialized, and its `Debug` output is
//! redacted.

mod error;

pub mod backup_destination;
pub mod backup_id;
pub mod cert_name;
pub mod cron_command;
pub mod cron_comment;
pub mod cron_schedule;
pub mod db_host;
pub mod db_name;
pub mod db_privilege;
pub mod db_user;
pub mod dns_name;
pub mod dns_record;
pub mod domain;
pub mod email;
pub mod file_mode;
pub mod file_path;
pub mod ftp_login;
pub mod host_label;
pub mod job_id;
pub mod mail_quota;
pub mod password;
pub mod percent;
pub mod plan;
pub mod plugin;
pub mod redirect;
pub mod secret_text;
pub mod spam_threshold;
pub mod token;
pub mod username;
pub mod vacation;

pub use backup_destination::DestinationName;
pub use backup_id::BackupId;
pub use cert_name::CertName;
pub use cron_command::CronCommand;
pub use cron_comment::CronComment;
pub use cron_schedule::CronSchedule;
pub use db_host::DbHost;
pub use db_name::DbName;
pub use db_privilege::DbPrivilege;
pub use db_user::DbUser;
pub use dns_name::{RecordName, Target};
pub use dns_record::{DnsRecord, RecordData, RecordType, Ttl};
pub use domain::DomainName;
pub use email::{EmailAddress, MailboxName};
pub use error::InvalidValue;
pub use file_mode::FileMode;
pub use file_path::FilePath;
pub use ftp_login::FtpLogin;
pub use host_label::HostLabel;
pub use job_id::JobId;
pub use mail_quota::MailQuota;
pub use password::Password;
pub use percent::{LoadPercent, Percent};
pub use plan::PlanName;
pub use plugin::PluginName;
pub use redirect::{RedirectStatus, RedirectUrl};
pub use secret_text::SecretText;
pub use spam_threshold::SpamThreshold;
pub use token::TokenName;
pub use username::Username;
pub use vacation::{VacationBody, VacationSubject};
