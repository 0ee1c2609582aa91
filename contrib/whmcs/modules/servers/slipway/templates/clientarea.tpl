{* clientarea.tpl - the service page: the server's state and addresses, its power buttons, the console link *}
<div class="slipway-server">
  <table class="table">
    <tr><th>State</th><td>{$server.state|escape}</td></tr>
    <tr><th>Hostname</th><td>{$server.hostname|escape}</td></tr>
    <tr><th>IPv4</th><td>{$server.ipv4|escape}</td></tr>
    <tr><th>IPv6</th><td>{$server.ipv6|escape}</td></tr>
  </table>
  {foreach $buttons as $label => $action}
    <a class="btn btn-default" href="clientarea.php?action=productdetails&amp;id={$serviceid}&amp;modop=custom&amp;a={$action|escape:'url'}">{$label|escape}</a>
  {/foreach}
  {if $console_url}
    <a class="btn btn-primary" href="{$console_url|escape}" target="_blank" rel="noopener">Console</a>
  {/if}
</div>
