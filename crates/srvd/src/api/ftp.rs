//! `/api/ftp/*`: HS::FTP, an account's FTP virtual users. On the user port the
//! account is the caller's; on the admin port staff name it with `username`.

use hs_modules::ftp;
use hs_types::{FilePath, FtpLogin, Password, Username};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::registry::{ANYONE, Action, BOTH_PORTS, Call, Field, FieldType as T, Reply, opt, req};

fn list(c: &Call<'_>) -> Result<Reply, ApiError> {
    let user = c.target_only()?;
    c.json(ftp::list(&c.app.panel, &c.actor()?, &user)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Create {
    #[serde(default)]
    username: Option<Username>,
    login: FtpLogin,
    #[serde(default)]
    folder: Option<FilePath>,
    password: Password,
}

fn create(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Create = c.parse()?;
    let user = c.target(input.username)?;
    let folder = match input.folder {
        Some(folder) => folder,
        None => "/".parse()?,
    };
    let actor = c.actor()?;
    let created =
        ftp::create(&c.app.panel, &actor, &user, input.login, folder, input.password, &c.op_id)?;
    c.json(created)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Delete {
    #[serde(default)]
    username: Option<Username>,
    login: FtpLogin,
}

fn delete(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Delete = c.parse()?;
    let user = c.target(input.username)?;
    ftp::delete(&c.app.panel, &c.actor()?, &user, &input.login)?;
    c.json(json!({ "deleted": input.login }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePassword {
    #[serde(default)]
    username: Option<Username>,
    login: FtpLogin,
    password: Password,
}

fn change_password(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: ChangePassword = c.parse()?;
    let user = c.target(input.username)?;
    ftp::change_password(&c.app.panel, &c.actor()?, &user, &input.login, input.password)?;
    c.json(json!({ "changed": input.login }))
}

const USERNAME: Field = opt("username", T::String, "the account (admin port only)");
const LOGIN: Field = req("login", T::String, "ACCOUNT_NAME, e.g. alice_web");
const PASSWORD: Field = req("password", T::String, "the FTP password");

pub const ACTIONS: &[Action] = &[
    Action {
        module: "ftp",
        name: "list",
        summary: "The account's FTP users and their folders",
        read_only: true,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[USERNAME],
        handler: list,
    },
    Action {
        module: "ftp",
        name: "create",
        summary: "Create an FTP user, acting as the account and confined to a folder",
        read_only: false,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[
            USERNAME,
            LOGIN,
            opt("folder", T::String, "home-relative, created if missing; default the home"),
            PASSWORD,
        ],
        handler: create,
    },
    Action {
        module: "ftp",
        name: "delete",
        summary: "Delete an FTP user (its files stay)",
        read_only: false,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[USERNAME, LOGIN],
        handler: delete,
    },
    Action {
        module: "ftp",
        name: "change_password",
        summary: "Set an FTP user's password",
        read_only: false,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[USERNAME, LOGIN, PASSWORD],
        handler: change_password,
    },
];
