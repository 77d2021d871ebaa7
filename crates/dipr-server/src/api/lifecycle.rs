//! Running a lifecycle command as the caller: an applicant's commands (`filings.rs`) and an examiner's
//! decisions (`review.rs`) go the same way.

use dipr_domain::application::Application;
use dipr_domain::lifecycle::Command;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::error::Json;
use dipr_registry::audit::actor_of;
use dipr_registry::Registry;

pub async fn run(st: &Registry, caller: &Caller, id: Uuid, cmd: Command) -> ApiResult<Json<Application>> {
    let user = caller.user()?;
    Ok(Json(dipr_registry::filings::execute(st, id, cmd, &actor_of(user)).await?))
}
