<?php
/*
 * whmcs_harness.php - WHMCS's side of tests/integration/whmcs.sh: calls the
 * module's functions (contrib/whmcs) as WHMCS does, with the $params WHMCS
 * documents, against the live slipway the test started.
 *
 * WHMCS itself is proprietary and cannot be installed here, so this file
 * holds the little of it the module uses: its "database" (the server entry,
 * clients, services, invoices) in a JSON state file, localAPI()'s
 * UpdateClientProduct, GetInvoice and GetClientsDetails over it, the
 * Capsule query UsageUpdate makes on tblhosting, logModuleCall() (kept, so
 * the test can look for secrets in it) and add_hook().
 *
 *   php whmcs_harness.php STATE init JSON          the state's first content
 *   php whmcs_harness.php STATE call FUNC [SERVICE] prints FUNC's answer as JSON
 *   php whmcs_harness.php STATE hook EVENT JSON     runs the hook file's EVENT hooks
 *   php whmcs_harness.php STATE get SERVICE FIELD   a service's field
 *   php whmcs_harness.php STATE set SERVICE FIELD VALUE
 *   php whmcs_harness.php STATE coverage            the WHMCS-facing functions never called
 */
namespace WHMCS\Database {
    class Capsule
    {
        public static function table(string $t): CapsuleQuery
        {
            return new CapsuleQuery($t);
        }
    }

    /* where(...)->where(...)->update(...) on one table of the state. */
    class CapsuleQuery
    {
        private $table;
        private $where = [];

        public function __construct(string $t)
        {
            $this->table = $t;
        }

        public function where(string $col, $value): self
        {
            $this->where[$col] = (string)$value;
            return $this;
        }

        public function update(array $set): int
        {
            global $H;
            $n = 0;
            foreach ($H[$this->table] as &$row) {
                $match = true;
                foreach ($this->where as $c => $v) {
                    $match = $match && (string)($row[$c] ?? '') === $v;
                }
                if ($match) {
                    $row = $set + $row;
                    $n++;
                }
            }
            return $n;
        }
    }
}

namespace {
    define('WHMCS', true);
    $H = null;     /* the state */
    $HOOKS = [];

    function localAPI(string $cmd, array $args)
    {
        global $H;
        $H['api_calls'][] = $cmd;
        switch ($cmd) {
        case 'UpdateClientProduct':
            $row = &$H['tblhosting'][(string)$args['serviceid']];
            foreach (['serviceusername' => 'username', 'servicepassword' => 'password'] as $a => $col) {
                if (isset($args[$a])) {
                    $row[$col] = $args[$a];
                }
            }
            return ['result' => 'success', 'serviceid' => $args['serviceid']];
        case 'GetInvoice':
            return ['result' => 'success'] + $H['invoices'][(string)$args['invoiceid']];
        case 'GetClientsDetails':
            return ['result' => 'success'] + $H['clients'][(string)$args['clientid']];
        }
        return ['result' => 'error', 'message' => "the harness has no $cmd"];
    }

    function logModuleCall($module, $action, $request, $response, $processed, $hide)
    {
        global $H;
        $H['module_log'][] = compact('module', 'action', 'request', 'response', 'hide');
    }

    function logActivity(string $msg)
    {
        global $H;
        $H['activity'][] = $msg;
    }

    function add_hook(string $event, int $priority, callable $fn)
    {
        global $HOOKS;
        $HOOKS[$event][] = $fn;
    }

    /* The $params WHMCS passes for service $sid (developers.whmcs.com,
     * "Module Parameters"); for a server-wide call (UsageUpdate,
     * TestConnection, a Loader) only the server's. */
    function harness_params(?string $sid): array
    {
        global $H;
        $srv = $H['server'];
        $p = ['server' => true, 'serverid' => $srv['id'], 'serverip' => '',
            'serverhostname' => $srv['hostname'], 'serverusername' => '',
            'serverpassword' => $srv['password'], 'serveraccesshash' => '',
            'serversecure' => $srv['secure'], 'serverport' => ''];
        if ($sid === null) {
            return $p;
        }
        $s = $H['tblhosting'][$sid];
        $c = $H['clients'][(string)$s['userid']];
        $p += ['serviceid' => (int)$sid, 'userid' => $s['userid'], 'pid' => $s['packageid'],
            'domain' => $s['domain'], 'username' => $s['username'], 'password' => $s['password'],
            'producttype' => 'server', 'moduletype' => 'slipway', 'configoptions' => [],
            'customfields' => [], 'clientsdetails' => $c + ['userid' => $s['userid'], 'id' => $s['userid']],
            'model' => null];
        foreach ($H['products'][(string)$s['packageid']] as $i => $v) {
            $p['configoption' . ($i + 1)] = $v;
        }
        return $p;
    }

    function harness_save(string $file)
    {
        global $H;
        file_put_contents($file, json_encode($H, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES));
    }

    [$self, $file, $verb] = array_slice($argv, 0, 3) + [null, null, null];
    $args = array_slice($argv, 3);
    if ($verb === 'init') {
        $H = json_decode($args[0], true) + ['tblhosting' => [], 'called' => [], 'module_log' => [],
            'api_calls' => [], 'activity' => []];
        harness_save($file);
        exit(0);
    }
    $H = json_decode(file_get_contents($file), true);
    $root = getenv('SW_WHMCS_DIR');
    require_once "$root/modules/servers/slipway/slipway.php";
    require_once "$root/includes/hooks/slipway_payments.php";
    switch ($verb) {
    case 'call':
        $fn = 'slipway_' . $args[0];
        $H['called'][] = $fn;
        $out = $fn(harness_params($args[1] ?? null));
        break;
    case 'hook':
        global $slipway_hook;
        $slipway_hook = $H['slipway_hook'];
        $H['called'][] = "hook:$args[0]";
        foreach ($HOOKS[$args[0]] ?? [] as $fn) {
            $fn(json_decode($args[1], true));
        }
        $out = count($HOOKS[$args[0]] ?? []);
        break;
    case 'get':
        $out = $H['tblhosting'][$args[0]][$args[1]] ?? null;
        break;
    case 'set':
        $H['tblhosting'][$args[0]][$args[1]] = $args[2];
        $out = null;
        break;
    case 'coverage':
        /* the module's functions WHMCS calls: slipway_<Capital>..., and
         * the custom buttons' */
        $facing = slipway_AdminCustomButtonArray();
        $out = [];
        foreach (get_defined_functions()['user'] as $f) {
            $r = new ReflectionFunction($f);
            $name = $r->getName();
            $in_module = basename($r->getFileName()) === 'slipway.php';
            $whmcs_calls = preg_match('/^slipway_[A-Z]/', $name) || in_array(substr($name, 8), $facing, true);
            if ($in_module && $whmcs_calls && !in_array($name, $H['called'], true)) {
                $out[] = $name;
            }
        }
        break;
    default:
        fwrite(STDERR, "whmcs_harness: unknown verb $verb\n");
        exit(2);
    }
    harness_save($file);
    echo json_encode($out, JSON_UNESCAPED_SLASHES), "\n";
}
