//! Secrets shared by every instance, made when the database was migrated.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::Conn;
use crate::db::schema::server_secrets;

/// The secret that signs pagination cursors.
pub async fn cursor(conn: &mut Conn) -> QueryResult<Vec<u8>> {
    server_secrets::table.find("cursor").select(server_secrets::value).first(conn).await
}
