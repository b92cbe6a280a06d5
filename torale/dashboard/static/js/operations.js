// Every GraphQL document the dashboard sends, in one place (schema.graphql is the
// contract). Closed sets (task state, notify behaviour) may be declared as plain
// strings or as GraphQL enums: /app/config.json says which (read from the served
// schema), and useSchemaTypes() applies it before any page runs. TYPES names the type
// a variable is declared with; ENUMS says whether values travel as enum names (ACTIVE)
// or as the lower-case strings (active). Pages never spell a type.

export const TYPES = { TaskState: "String", NotifyBehavior: "String" };
export const ENUMS = { TaskState: false, NotifyBehavior: false };

export function useSchemaTypes(types) {
  for (const [kind, spec] of Object.entries(types || {})) {
    if (!(kind in TYPES) || !spec || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(spec.type)) continue;
    TYPES[kind] = spec.type;
    ENUMS[kind] = Boolean(spec.enum);
  }
}

const EXECUTION = `
  id task_id status trigger started_at completed_at condition_met change_summary
  error_message error_type attempt notification_sent created_at
  result { answer reasoning condition_met sources_count }
  grounding_sources { uri title snippet }`;

const TASK_ROW = `
  id user_id name state schedule timezone next_run_at is_public condition_met
  notify_behavior updated_at
  recent_executions(limit: 1) { id status condition_met completed_at created_at error_message }`;

const TASK_FULL = `
  id user_id name search_query condition_description schedule timezone notify_behavior
  executor_type config state condition_met last_known_state last_notified_at is_public
  view_count subscriber_count forked_from_task_id created_at updated_at state_changed_at
  notifications next_run_at`;

const DELIVERY = `
  id execution_id task_id channel target event_id event_type status attempt_count
  next_attempt_at last_status_code last_error created_at succeeded_at
  attempts { id attempt_number outcome status_code error duration_ms next_attempt_at created_at }`;

export const ME = `query Me { me { id email role state clerk_user_id created_at last_login } }`;

// A function: the variable's type is known only once the config is read.
export const TASKS = () => `query Tasks($page: Int!, $limit: Int!, $state: ${TYPES.TaskState}, $active: Boolean) {
  tasks(page: $page, limit: $limit, state: $state, active: $active) {
    total page limit items { ${TASK_ROW} }
  }
}`;

export const TASK = `query Task($id: UUID!) { task(id: $id) { ${TASK_FULL} } }`;

export const TASK_ACTIVITY = `query TaskActivity($id: UUID!, $limit: Int!) {
  executions(task_id: $id, page: 1, limit: $limit) { total items { ${EXECUTION} } }
  notifications(task_id: $id, page: 1, limit: $limit) {
    total items { id status condition_met change_summary created_at answer }
  }
  task_webhook_deliveries(task_id: $id, page: 1, limit: $limit) { total items { ${DELIVERY} } }
}`;

export const CREATE_TASK = `mutation CreateTask($input: CreateTaskInput!) {
  create_task(input: $input) { id name }
}`;

export const UPDATE_TASK = `mutation UpdateTask($id: UUID!, $input: UpdateTaskInput!) {
  update_task(id: $id, input: $input) { id name state }
}`;

export const DELETE_TASK = `mutation DeleteTask($id: UUID!) { delete_task(id: $id) }`;

export const SET_VISIBILITY = `mutation SetVisibility($id: UUID!, $is_public: Boolean!) {
  set_task_visibility(id: $id, is_public: $is_public) { id is_public }
}`;

export const FORK_TASK = `mutation ForkTask($id: UUID!, $name: String) {
  fork_task(id: $id, name: $name) { id name }
}`;

export const EXECUTE_TASK = `mutation ExecuteTask($id: UUID!) {
  execute_task(id: $id) { message execution_id }
}`;

export const REDELIVER = `mutation Redeliver($id: UUID!) {
  redeliver_webhook(id: $id) { ${DELIVERY} }
}`;

export const PUBLIC_TASKS = `query PublicTasks($page: Int!, $limit: Int!, $search: String) {
  public_tasks(page: $page, limit: $limit, search: $search) {
    total page limit
    items { id user_id name search_query condition_description schedule timezone
            notify_behavior view_count subscriber_count created_at }
  }
}`;

export const API_KEYS = `query ApiKeys($page: Int!, $limit: Int!) {
  api_keys(page: $page, limit: $limit) {
    total items { id key_prefix name state created_at last_used_at }
  }
}`;

export const CREATE_API_KEY = `mutation CreateApiKey($input: CreateApiKeyInput!) {
  create_api_key(input: $input) { id key key_prefix name created_at }
}`;

export const REVOKE_API_KEY = `mutation RevokeApiKey($id: UUID!) { revoke_api_key(id: $id) { message } }`;

export const WEBHOOK_SECRET = `query WebhookSecret {
  webhook_secret { secret previous_valid_until created_at rotated_at }
}`;

export const ROTATE_WEBHOOK_SECRET = `mutation RotateWebhookSecret {
  rotate_webhook_secret { secret previous_valid_until created_at rotated_at }
}`;

export const TEST_WEBHOOK = `mutation TestWebhook($url: String!) {
  test_webhook(url: $url) { status_code success error duration_ms }
}`;

export const SYNC_USER = `mutation SyncUser { sync_user { id email role state } }`;

export const ADMIN_STATS = `query AdminStats {
  admin_stats {
    users { total active_30d new_7d }
    tasks { total active paused completed }
    executions { total_24h success_24h failed_24h avg_duration_ms }
    notifications { sent_24h sent_7d }
    popular_queries { query count }
    deliveries { pending retrying failed stranded oldest_due_age_seconds }
  }
}`;

export const ADMIN_USERS = `query AdminUsers($page: Int!, $limit: Int!, $active_only: Boolean!) {
  admin_users(page: $page, limit: $limit, active_only: $active_only) {
    total page limit
    items { id email role state created_at last_login deactivated_at tasks_count
            active_tasks_count executions_24h notifications_7d }
  }
}`;

export const DEACTIVATE_USER = `mutation DeactivateUser($id: UUID!) {
  deactivate_user(id: $id) { message user_id tasks_paused }
}`;

export const ACTIVATE_USER = `mutation ActivateUser($id: UUID!) {
  activate_user(id: $id) { message user_id }
}`;

export const ADMIN_ERRORS = `query AdminErrors($hours: Int!, $page: Int!, $limit: Int!) {
  admin_errors(hours: $hours, page: $page, limit: $limit) {
    total page limit error_types
    items { id task_id task_name user_email status error_type error_message created_at attempt }
  }
}`;

export const ADMIN_TEMPORAL = `query AdminTemporal($page: Int!, $limit: Int!) {
  admin_temporal_schedules(page: $page, limit: $limit) {
    total
    items { schedule_id task_id user_email cron timezone is_paused note next_run_time
            temporal_ui_url recent_executions { workflow_id run_id scheduled_at started_at } }
  }
  admin_temporal_workflows(page: $page, limit: $limit) {
    total
    items { workflow_id run_id workflow_type task_queue status start_time close_time
            execution_duration_ms temporal_ui_url }
  }
}`;
