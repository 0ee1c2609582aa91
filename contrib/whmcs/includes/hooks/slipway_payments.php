<?php
/*
 * slipway_payments.php - WHMCS hook: a paid WHMCS invoice is reported to
 * slipway as a payment (POST /v1/hooks/payments, signed as a Standard
 * Webhook with the signing account's hook secret; README.md "Payments").
 *
 * Configured in WHMCS's configuration.php:
 *   $slipway_hook = ['url' => 'https://panel.example.com',
 *       'account_id' => '<the signing account's id>',
 *       'secret' => 'whsec_...',          // POST /v1/account/hook-secret
 *       'token' => '<a reseller API token, to find the client's account>'];
 * The client's slipway account is the customer whose external_id is the
 * client's id (as the provisioning module creates it). The payment's
 * webhook-id is "whmcs-invoice-<id>", so a hook run twice for one invoice
 * is one payment.
 */
if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}
require_once __DIR__ . '/../../modules/servers/slipway/lib/api.php';

/* The request for one payment: [headers, body]. $now is a Unix time. */
function slipway_payment_request(array $conf, string $account, int $cents, string $currency,
    string $invoice, int $now): array
{
    $body = json_encode(['account_id' => $account,
        'amount' => ['amount' => $cents, 'currency' => strtoupper($currency)],
        'reference' => "whmcs invoice $invoice"]);
    $id = "whmcs-invoice-$invoice";
    $key = base64_decode(substr($conf['secret'], strlen('whsec_')), true);
    if (strpos($conf['secret'], 'whsec_') !== 0 || $key === false) {
        throw new SlipwayError('slipway_hook secret must be whsec_ and base64');
    }
    $sig = base64_encode(hash_hmac('sha256', "$id.$now.$body", $key, true));
    return [['Content-Type: application/json', "webhook-account: {$conf['account_id']}",
        "webhook-id: $id", "webhook-timestamp: $now", "webhook-signature: v1,$sig"], $body];
}

/* Reports invoice $invoice of WHMCS client $client; returns slipway's
 * answer, throws SlipwayError with its message. */
function slipway_payment_send(array $conf, string $client, string $invoice, float $total,
    string $currency): array
{
    $api = ['serverhostname' => $conf['url'], 'serverpassword' => $conf['token']];
    $found = slipway_api($api, 'GET', '/v1/reseller/customers?external_id=' . rawurlencode($client));
    $account = $found['items'][0]['id'] ?? null;
    if ($account === null) {
        throw new SlipwayError("slipway has no customer for WHMCS client $client");
    }
    [$headers, $body] = slipway_payment_request($conf, $account, (int)round($total * 100),
        $currency, $invoice, time());
    $ch = curl_init(rtrim($conf['url'], '/') . '/v1/hooks/payments');
    curl_setopt_array($ch, [CURLOPT_POST => true, CURLOPT_POSTFIELDS => $body,
        CURLOPT_HTTPHEADER => $headers, CURLOPT_RETURNTRANSFER => true, CURLOPT_TIMEOUT => 30]);
    $raw = curl_exec($ch);
    $status = (int)curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
    curl_close($ch);
    $answer = is_string($raw) ? json_decode($raw, true) : null;
    if ($status !== 200) {
        throw new SlipwayError('slipway: ' . ($answer['error']['message'] ?? "HTTP $status"));
    }
    return $answer;
}

if (function_exists('add_hook')) {
    add_hook('InvoicePaid', 1, function (array $vars) {
        global $slipway_hook;
        if (empty($slipway_hook)) {
            return;
        }
        $inv = localAPI('GetInvoice', ['invoiceid' => $vars['invoiceid']]);
        $client = localAPI('GetClientsDetails', ['clientid' => $inv['userid']]);
        try {
            slipway_payment_send($slipway_hook, (string)$inv['userid'], (string)$vars['invoiceid'],
                (float)$inv['total'], (string)$client['currency_code']);
        } catch (Exception $e) {
            logActivity('slipway: invoice ' . $vars['invoiceid'] . ' not reported: ' . $e->getMessage());
        }
    });
}
