<?php
/*
 * slipway.php - the WHMCS provisioning module for slipway (README.md).
 *
 * WHMCS calls each slipway_* function with its $params array; those that
 * act return "success" or an error message WHMCS shows as it is (slipway's
 * own message, from its error body). The module keeps no state of its own:
 *
 *   - a WHMCS client is the slipway customer whose external_id is the
 *     client's id, created on the client's first service;
 *   - a WHMCS service is the slipway server whose id is in the service's
 *     username field, written there by CreateAccount;
 *   - the product's module settings are configoption1 (plan),
 *     configoption2 (template) and configoption3 (location, may be empty).
 *
 * Writes name the service in their Idempotency-Key (lib/api.php), so a
 * retried create, suspend or resize never happens twice.
 */
if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}
require_once __DIR__ . '/lib/api.php';

function slipway_MetaData()
{
    return [
        'DisplayName' => 'slipway',
        'APIVersion' => '1.1',
        'RequiresServer' => true,
        'DefaultNonSSLPort' => '80',
        'DefaultSSLPort' => '443',
    ];
}

/* The product's settings; each list is read from the live API through the
 * product's server (WHMCS calls the Loader with that server's $params). */
function slipway_ConfigOptions()
{
    $option = function (string $what, string $loader, string $desc) {
        return ['FriendlyName' => $what, 'Type' => 'text', 'Size' => '40',
            'Loader' => $loader, 'SimpleMode' => true, 'Description' => $desc];
    };
    return [
        'plan' => $option('Plan', 'slipway_LoadPlans', 'the slipway plan a service gets'),
        'template' => $option('Template', 'slipway_LoadTemplates', 'the OS template it installs'),
        'location' => $option('Location', 'slipway_LoadLocations', 'where it runs (empty: any)'),
    ];
}

/* id => label, from one catalogue route. */
function slipway_catalogue(array $params, string $path, callable $label): array
{
    $out = [];
    foreach (slipway_api_all($params, $path) as $item) {
        $out[$item['id']] = $label($item);
    }
    return $out;
}

function slipway_LoadPlans(array $params)
{
    return slipway_catalogue($params, '/v1/plans', function ($p) {
        return sprintf('%s (%s, %d vCPU, %d MB RAM, %d GB disk)', $p['name'], $p['kind'],
            $p['vcpus'], $p['ram_mb'], $p['disk_gb']);
    });
}

function slipway_LoadTemplates(array $params)
{
    return slipway_catalogue($params, '/v1/templates', function ($t) {
        return sprintf('%s (%s, %s)', $t['name'], $t['os'], $t['kind']);
    });
}

function slipway_LoadLocations(array $params)
{
    return ['' => 'any'] + slipway_catalogue($params, '/v1/locations', function ($l) {
        return sprintf('%s (%s)', $l['name'], $l['code']);
    });
}

/* Runs one action: "success", or the message of what failed. */
function slipway_run(callable $action): string
{
    try {
        $action();
        return 'success';
    } catch (Exception $e) {
        return $e->getMessage();
    }
}

/* Writes fields of the service back into WHMCS (UpdateClientProduct). */
function slipway_service_update(array $params, array $fields): void
{
    $r = localAPI('UpdateClientProduct', ['serviceid' => $params['serviceid']] + $fields);
    if (($r['result'] ?? '') !== 'success') {
        throw new SlipwayError('WHMCS did not record the service: ' . ($r['message'] ?? 'no answer'));
    }
}

/* The slipway customer of the service's client, created when missing. */
function slipway_customer(array $params): string
{
    $client = $params['clientsdetails'];
    $ext = (string)$params['userid'];
    $find = function () use ($params, $ext) {
        $found = slipway_api($params, 'GET', '/v1/reseller/customers?external_id=' . rawurlencode($ext));
        return $found['items'][0]['id'] ?? null;
    };
    $id = $find();
    if ($id !== null) {
        return $id;
    }
    $name = trim(($client['firstname'] ?? '') . ' ' . ($client['lastname'] ?? ''));
    $body = ['email' => $client['email'], 'name' => $name !== '' ? $name : $client['email'],
        'external_id' => $ext];
    try {
        $made = slipway_api($params, 'POST', '/v1/reseller/customers', $body,
            slipway_idem_key($params, 'customer', json_encode($body)));
        return $made['id'];
    } catch (SlipwayError $e) {
        /* another service of the same client created it meanwhile */
        $id = $find();
        if ($id === null) {
            throw $e;
        }
        return $id;
    }
}

/* The service's server id (the username field), or an error. */
function slipway_server_id(array $params): string
{
    $id = (string)($params['username'] ?? '');
    if (!slipway_uuid_valid($id)) {
        throw new SlipwayError('this service has no slipway server yet (its username holds none): create it first');
    }
    return $id;
}

function slipway_server(array $params): array
{
    return slipway_api($params, 'GET', '/v1/servers/' . slipway_server_id($params));
}

/* The server's hostname: the service's domain, or server-<service id>
 * for a product that asks for none. */
function slipway_hostname(array $params): string
{
    $domain = trim((string)($params['domain'] ?? ''));
    return $domain !== '' ? $domain : 'server-' . (int)$params['serviceid'];
}

function slipway_CreateAccount(array $params)
{
    return slipway_run(function () use ($params) {
        $prev = (string)($params['username'] ?? '');
        if (slipway_uuid_valid($prev)) {
            $s = slipway_api($params, 'GET', "/v1/servers/$prev");
            if (!in_array($s['state'], ['terminating', 'terminated', 'failed'], true)) {
                return; /* created already: WHMCS asked again */
            }
        }
        $customer = slipway_customer($params);
        $order = ['plan_id' => (string)$params['configoption1'],
            'template_id' => (string)$params['configoption2'],
            'hostname' => slipway_hostname($params)];
        if ((string)($params['configoption3'] ?? '') !== '') {
            $order['location_id'] = (string)$params['configoption3'];
        }
        if ((string)($params['password'] ?? '') !== '') {
            $order['password'] = (string)$params['password'];
        }
        /* the server it replaces (if any) and the order make the key */
        $key = slipway_idem_key($params, 'create', $prev . "\n" . json_encode($order));
        $placed = slipway_api($params, 'POST', "/v1/reseller/customers/$customer/orders", $order, $key);
        slipway_service_update($params, ['serviceusername' => $placed['server']['id']]);
    });
}

/* A provider verb (suspend, unsuspend, terminate) unless the server is in
 * one of $done already; the key holds the server's updated_at, so the same
 * verb later (after the server moved on) is a new request. */
function slipway_verb(array $params, string $verb, array $done): string
{
    return slipway_run(function () use ($params, $verb, $done) {
        $s = slipway_server($params);
        if (in_array($s['state'], $done, true)) {
            return;
        }
        slipway_api($params, 'POST', "/v1/reseller/servers/{$s['id']}/$verb", null,
            slipway_idem_key($params, $verb, $s['updated_at']));
    });
}

function slipway_SuspendAccount(array $params)
{
    return slipway_verb($params, 'suspend', ['suspended']);
}

function slipway_UnsuspendAccount(array $params)
{
    return slipway_verb($params, 'unsuspend', ['running', 'stopped']);
}

function slipway_TerminateAccount(array $params)
{
    return slipway_verb($params, 'terminate', ['terminating', 'terminated']);
}

/* The product's (new) plan: a resize job unless the server has it. */
function slipway_ChangePackage(array $params)
{
    return slipway_run(function () use ($params) {
        $s = slipway_server($params);
        $plan = (string)$params['configoption1'];
        if ($s['plan_id'] === $plan) {
            return;
        }
        slipway_api($params, 'POST', "/v1/reseller/servers/{$s['id']}/change-plan",
            ['plan_id' => $plan], slipway_idem_key($params, 'change-plan', $plan . $s['updated_at']));
    });
}

/* How long ChangePassword waits for the guest to take the new password. */
const SLIPWAY_PASSWORD_WAIT_S = 60;

/* The job's final state (succeeded, failed or dead), or null when it is
 * still queued or running after $seconds. */
function slipway_job_wait(array $params, string $job, int $seconds): ?array
{
    $end = microtime(true) + $seconds;
    do {
        $j = slipway_api($params, 'GET', "/v1/jobs/$job");
        if (in_array($j['state'], ['succeeded', 'failed', 'dead'], true)) {
            return $j;
        }
        usleep(250000);
    } while (microtime(true) < $end);
    return null;
}

/* slipway makes the new root password itself (reset_password), answers it
 * once and sets it in the guest through its agent; once the guest has it
 * the module writes it into the service's password field. A reset the
 * guest refused leaves the service's password as it was. */
function slipway_ChangePassword(array $params)
{
    return slipway_run(function () use ($params) {
        $id = slipway_server_id($params);
        $r = slipway_api($params, 'POST', "/v1/servers/$id/actions", ['type' => 'reset_password'],
            slipway_idem_key($params, 'password', (string)$params['password']));
        /* a retry is answered again without the password (the first call
         * saved it) but with the same job, whose outcome is still told */
        $job = slipway_job_wait($params, $r['job']['id'], SLIPWAY_PASSWORD_WAIT_S);
        if (isset($r['password']) && ($job === null || $job['state'] === 'succeeded')) {
            slipway_service_update($params, ['servicepassword' => $r['password']]);
        }
        if ($job === null) {
            throw new SlipwayError("slipway: the password reset is still running (job {$r['job']['id']}); "
                . 'the service holds the new password');
        }
        if ($job['state'] !== 'succeeded') {
            throw new SlipwayError('slipway: the password reset failed: '
                . ($job['error']['message'] ?? $job['state']));
        }
    });
}

/* A customer action on the server (POST /v1/servers/{id}/actions). */
function slipway_action(array $params, string $type, array $extra = []): string
{
    return slipway_run(function () use ($params, $type, $extra) {
        $s = slipway_server($params);
        slipway_api($params, 'POST', "/v1/servers/{$s['id']}/actions", ['type' => $type] + $extra,
            slipway_idem_key($params, $type, $s['updated_at'] . json_encode($extra)));
    });
}

function slipway_start(array $params)
{
    return slipway_action($params, 'start');
}

function slipway_stop(array $params)
{
    return slipway_action($params, 'stop');
}

function slipway_reboot(array $params)
{
    return slipway_action($params, 'reboot');
}

/* Reinstalls the product's template with the service's password. */
function slipway_reinstall(array $params)
{
    $extra = ['template_id' => (string)$params['configoption2']];
    if ((string)($params['password'] ?? '') !== '') {
        $extra['password'] = (string)$params['password'];
    }
    return slipway_action($params, 'reinstall', $extra);
}

function slipway_AdminCustomButtonArray()
{
    return ['Start' => 'start', 'Stop' => 'stop', 'Reboot' => 'reboot', 'Reinstall' => 'reinstall'];
}

function slipway_ClientAreaCustomButtonArray()
{
    return slipway_AdminCustomButtonArray();
}

function slipway_TestConnection(array $params)
{
    try {
        slipway_api($params, 'GET', '/v1/reseller/quota');
        return ['success' => true, 'error' => ''];
    } catch (Exception $e) {
        return ['success' => false, 'error' => $e->getMessage()];
    }
}

/* WHMCS's daily usage import for one server entry: each service's disk
 * (its plan's, as allocated) and this month's traffic (in and out), in MB,
 * into tblhosting, matched by the server id in the username field. */
function slipway_UsageUpdate(array $params)
{
    try {
        foreach (slipway_usage_rows($params, gmdate('Y-m')) as $server => $row) {
            \WHMCS\Database\Capsule::table('tblhosting')
                ->where('server', $params['serverid'])
                ->where('username', $server)
                ->update($row + ['lastupdate' => gmdate('Y-m-d H:i:s')]);
        }
        return 'success';
    } catch (Exception $e) {
        return $e->getMessage();
    }
}

/* server id => diskusage, disklimit, bwusage, bwlimit (MB) for MONTH. */
function slipway_usage_rows(array $params, string $month): array
{
    $plans = [];
    foreach (slipway_api_all($params, '/v1/plans') as $p) {
        $plans[$p['id']] = $p;
    }
    $bytes = [];
    $usage = slipway_api($params, 'GET', '/v1/reseller/usage?month=' . rawurlencode($month));
    foreach ($usage['customers'] ?? [] as $c) {
        foreach ($c['servers'] ?? [] as $s) {
            $bytes[$s['server_id']] = $s['net_rx_bytes'] + $s['net_tx_bytes'];
        }
    }
    $rows = [];
    foreach (slipway_api_all($params, '/v1/reseller/servers') as $s) {
        $plan = $plans[$s['plan_id']] ?? ['disk_gb' => 0, 'bandwidth_gb' => 0];
        $rows[$s['id']] = [
            'diskusage' => $plan['disk_gb'] * 1024,
            'disklimit' => $plan['disk_gb'] * 1024,
            'bwusage' => (int)round(($bytes[$s['id']] ?? 0) / 1048576),
            'bwlimit' => ($plan['bandwidth_gb'] ?? 0) * 1024,
        ];
    }
    return $rows;
}

/* The console, once the panel has one: its URL, or null. */
function slipway_console_url(array $params, string $id): ?string
{
    try {
        $c = slipway_api($params, 'POST', "/v1/servers/$id/console", ['type' => 'vnc'],
            slipway_idem_key($params, 'console', gmdate('Y-m-d H:i')));
        return $c['url'] ?? null;
    } catch (SlipwayError $e) {
        return null;
    }
}

/* The service page: state, addresses, power buttons, the console link. */
function slipway_ClientArea(array $params)
{
    try {
        $s = slipway_server($params);
        return ['templatefile' => 'templates/clientarea', 'vars' => [
            'server' => $s,
            'console_url' => slipway_console_url($params, $s['id']),
            'buttons' => slipway_ClientAreaCustomButtonArray(),
            'serviceid' => (int)$params['serviceid'],
        ]];
    } catch (Exception $e) {
        return ['templatefile' => 'templates/error', 'vars' => ['error' => $e->getMessage()]];
    }
}

/* The admin's view of the service: what slipway says of its server. */
function slipway_AdminServicesTabFields(array $params)
{
    try {
        $s = slipway_server($params);
    } catch (Exception $e) {
        return ['slipway' => htmlspecialchars($e->getMessage())];
    }
    $fields = ['Server ID' => $s['id'], 'State' => $s['state'], 'Hostname' => $s['hostname'],
        'Plan' => $s['plan_id'], 'IPv4' => $s['ipv4'] ?? '', 'IPv6' => $s['ipv6'] ?? ''];
    return array_map(function ($v) {
        return htmlspecialchars(is_array($v) ? implode(', ', $v) : (string)$v);
    }, $fields);
}
