{* error.tpl - the service page when slipway cannot be asked: its message *}
<div class="alert alert-warning">{$error|escape}</div>
