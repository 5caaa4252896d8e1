/** Catálogo em português do Brasil. Tem exatamente as mesmas chaves que en.ts. */
import type { Messages } from "./en.ts";

const number = new Intl.NumberFormat("pt-BR");
const seconds = new Intl.NumberFormat("pt-BR", {
  minimumFractionDigits: 1,
  maximumFractionDigits: 1,
});
const plural = (n: number, one: string, many: string) =>
  `${number.format(n)} ${n === 1 ? one : many}`;
const size = (n: number) => (n >= 1 << 30 ? `${n / (1 << 30)}g` : `${n / (1 << 20)}m`);

export const pt: Messages = {
  // comum
  usageError: (problem, command) => `erro: ${problem} (veja: ${command} --help)`,
  usage: (command) => `Uso: ${command} [opções]`,
  unknownOption: (option) => `opção desconhecida: ${option}`,
  unknownOptionNear: (option, near) => `opção desconhecida: ${option} (você quis dizer ${near}?)`,
  otherProgramOption: (option, programs) =>
    `${option} é uma opção de ${programs.join(" e de ")}, não deste programa`,
  portWithoutFlag: (arg) => `argumento inesperado: "${arg}" (para escolher a porta: --port ${arg})`,
  modeWithoutFlag: (arg, flag) =>
    `argumento inesperado: "${arg}" (para escolher o modo: ${flag} ${arg})`,
  commandUnquoted: (arg, quoted) =>
    `argumento inesperado: "${arg}" (ponha o comando inteiro entre aspas: ${quoted})`,
  missingValue: (option) => `falta o valor da opção ${option}`,
  flagTakesNoValue: (option) => `a opção ${option} não recebe valor`,
  unexpectedArgument: (arg) => `argumento inesperado: "${arg}"`,
  badValue: {
    port: (source, value) => `${source} deve ser um número inteiro de 0 a 65535, não "${value}"`,
    clientPort: (source, value) =>
      `${source} deve ser um número inteiro de 1 a 65535, não "${value}"`,
    mode: (source, value) => `${source} deve ser once, sequential ou concurrent, não "${value}"`,
    seconds: (source, value) => `${source} deve ser um número positivo de segundos, não "${value}"`,
    secondsOrZero: (source, value) =>
      `${source} deve ser um número de segundos (0 para nunca), não "${value}"`,
    secondsOrNoDelay: (source, value) =>
      `${source} deve ser um número de segundos (0 para nenhuma espera), não "${value}"`,
    secondsOrNoLimit: (source, value) =>
      `${source} deve ser um número de segundos (0 para sem limite), não "${value}"`,
    pause: (source, value) =>
      `${source} deve ser um número de segundos, como 0.01 ou 0.5 (0 para nenhuma espera), não "${value}"`,
    tooShort: (source, value, min) =>
      `${source} deve ser 0 (nunca) ou pelo menos ${number.format(min)} segundo, não "${value}"`,
    tooLong: (source, value, max) =>
      `${source} deve ser de no máximo ${number.format(max)} segundos (${max / 86_400} dias), não "${value}"`,
    count: (source, value) => `${source} deve ser um número inteiro maior que zero, não "${value}"`,
    bytes: (source, value, max) =>
      `${source} deve ser um tamanho em bytes, como 65536, 64k ou 1m (no máximo ${size(max)}), não "${value}"`,
    pieceBytes: (source, value, max) =>
      `${source} deve ser um número de bytes de pelo menos 1, como 1, 10 ou 1k (no máximo ${size(max)}), não "${value}"`,
    rate: (source, value, max) =>
      `${source} deve ser um número de bytes por segundo, como 100, 10k ou 1m (no máximo ${size(max)}; 0 para sem limite), não "${value}"`,
    workers: (source, value, max) =>
      `${source} deve ser auto ou um número inteiro de 1 a ${max}, não "${value}"`,
    lang: (source, value) => `${source} deve ser en ou pt, não "${value}"`,
    emptyHost: (source) => `${source} não pode ficar vazio: informe um nome de host ou um endereço`,
    badIp: (source, value) => `${source}: "${value}" não é um endereço IP`,
    boolean: (source, value) => `${source} deve ser 1 ou 0, não "${value}"`,
    path: (source, value, max) =>
      `${source} deve ser um caminho de arquivo com 1 a ${max} bytes, não "${value}"`,
    retries: (source, value, max) =>
      `${source} deve ser um número inteiro de 0 a ${max}, não "${value}"`,
    logFormat: (source, value) => `${source} deve ser text ou json, não "${value}"`,
    logLevel: (source, value) =>
      `${source} deve ser data, connections, warn ou error, não "${value}"`,
    cidr: (source, value) =>
      `${source} deve ser uma lista de endereços ou redes separados por vírgula, como 10.0.0.0/8,::1, não "${value}"`,
  },
  tlsPairNeeded: "--tls-cert e --tls-key andam juntas: use as duas ou nenhuma",
  notWith: (option, other) => `${option} não pode ser usada com ${other}`,
  onlyWith: (option, other) => `${option} só faz sentido com ${other}`,
  httpPortIsPort: (port) =>
    `--http-port não pode ser a porta do eco (--port ${port}): saúde e métricas precisam de uma porta só delas`,
  udpMode: (mode) =>
    `--udp atende todos os remetentes ao mesmo tempo (datagramas não têm conexão): --mode ${mode} não se aplica`,
  optionsHeading: "Opções (variável de ambiente entre colchetes):",
  optionGroup: {
    shaping: "Eco dificultado de propósito, para testar clientes (TCP e --unix; só se pedido):",
  },
  defaultWord: "padrão:",
  metavar: {
    PATH: "CAMINHO",
    PORT: "PORTA",
    MODE: "MODO",
    SECS: "SEG",
    CIDRS: "REDES",
    FILE: "ARQUIVO",
    LANG: "IDIOMA",
    LEVEL: "NÍVEL",
    FORMAT: "FORMATO",
    CMD: "COMANDO",
  },
  optionHelp: {
    serverHost: "endereço em que escutar; 0.0.0.0 ou :: atende também outras máquinas",
    serverPort: "porta em que escutar; 0 escolhe uma livre",
    mode: "once        atende um cliente e termina\nsequential  um cliente por vez; os outros esperam\nconcurrent  todos os clientes ao mesmo tempo",
    maxConnections: "fecha as conexões novas quando já houver N abertas",
    idleTimeout: "fecha uma conexão que fique esse tempo sem tráfego; 0 = nunca",
    maxBuffer:
      "quanto eco guardar para um cliente que lê mais devagar do que envia, antes de o servidor parar de ler dele: 65536, 64k, 1m",
    workers:
      "N processos do servidor compartilhando a porta (SO_REUSEPORT), para usar todos os núcleos; auto = um por núcleo; exige --mode concurrent; os limites valem para cada processo",
    tlsCert: "atende com TLS usando este certificado (PEM)",
    tlsKey: "a chave privada desse certificado (PEM)",
    serverUdp:
      "atende UDP em vez de TCP: cada datagrama volta ao remetente como chegou (RFC 862); roda até ser parado",
    serverUnix:
      "escuta neste arquivo de socket Unix em vez de --host/--port; o arquivo é removido quando o servidor termina",
    proxyProtocol:
      "toda conexão começa com um cabeçalho do protocolo PROXY (v1 ou v2) vindo de um balanceador de carga: lido, nunca ecoado; mostra o cliente que ele indica",
    httpPort:
      "serve a página ao vivo (GET /), /healthz, /readyz e /metrics (Prometheus) nesta porta; 0 escolhe uma livre",
    httpHost: "endereço para --http-port",
    proxyFrom:
      "com --proxy-protocol, aceita cabeçalhos só destas origens (10.0.0.0/8,::1): conexões de outras são fechadas, sem eco",
    stopDelay:
      "depois de um sinal de parada, o /readyz responde 503 e conexões novas ainda são aceitas por esse tempo, para o balanceador saber antes de a porta fechar",
    drainIdle:
      "depois da parada, uma conexão que não terminar antes é fechada quando fica sem tráfego por esse tempo (0 = nunca) ou no --drain-timeout; o código de saída é 75 se a parada interrompeu algum eco",
    drainTimeout:
      "depois de um sinal de parada, fecha as conexões ainda abertas após esse tempo; 0 = espera por elas",
    logFormat:
      "text, ou json: depois de lidas as opções, cada linha (na saída padrão e na de erro) vira um objeto JSON (códigos, não palavras), para coletores de log",
    logLevel:
      "data         cada conexão e cada pedaço lido\nconnections  abertura e fechamento de cada conexão, sem uma linha por leitura\nwarn         avisos (recusas, limites) e erros\nerror        só os erros\n(as linhas de escuta aparecem em qualquer nível)",
    slice:
      "envia cada eco em pedaços de no máximo BYTES, uma escrita para cada, como se uma rede lenta o cortasse",
    sliceRandom: "cada pedaço com tamanho sorteado entre 1 e --slice (o mesmo com a mesma --seed)",
    delay: "espera esse tempo antes de cada pedaço (aceita frações: 0.01)",
    rate: "ecoa no máximo BYTES por segundo em cada conexão",
    closeAfter: "fecha a conexão (FIN) depois de ecoar BYTES",
    resetAfter: "derruba a conexão (RST) depois de ecoar BYTES",
    seed: "de onde parte o sorteio de --slice-random: a mesma semente, os mesmos pedaços (a linha de escuta a mostra)",
    quiet: "o mesmo que --log-level warn: as linhas de escuta, os avisos e os erros",
    trace: "mostra cada evento do socket na saída de erro, com o tempo em ms desde o início",
    hexdump:
      "mostra cada pedaço recebido e enviado em hexadecimal e texto, como o xxd (até 256 bytes de cada)",
    lang: "en ou pt (padrão: conforme LC_ALL, LC_MESSAGES, LANG)",
    clientHost: "servidor ao qual se conectar",
    clientPort: "porta do servidor",
    timeout:
      "desiste se nenhum byte do eco esperado (ou do handshake TLS) chegar nesse tempo; 0 = espera o quanto for preciso",
    tls: "conecta com TLS, verificando o certificado do servidor com os certificados confiáveis do sistema",
    tlsCa:
      "verifica o servidor com este certificado de CA (PEM), em vez dos certificados do sistema (implica --tls)",
    insecure: "TLS sem verificar o servidor (só para testes)",
    clientUdp: "envia cada linha como um datagrama UDP; reenvia se o eco demorar",
    retries: "com --udp, quantas vezes reenviar uma mensagem antes de desistir",
    clientUnix: "conecta a este arquivo de socket Unix em vez de --host/--port",
    help: "mostra esta ajuda",
    version: "mostra a versão",
    // probe
    probeHost: "servidor de eco a verificar",
    probeExpect:
      "o modo que o servidor deve seguir, cuja regra é verificada: once (um segundo cliente nunca deve ser atendido: é recusado, ou interrompido com um reset quando o primeiro sai; a fila do kernel pode completar o handshake dele), sequential ou concurrent",
    probeTimeout: "tempo máximo de cada espera pelo servidor",
    probeSlowPause: "a pausa do leitor lento, em ms, a cada 256 KiB lidos",
    probeJson: "mostra os resultados em JSON (para correção automática)",
    probeClient:
      "verifica um cliente de eco: executa COMANDO ({port} trocado pela porta, ECHO_PORT definida) contra um servidor da própria sonda que ecoa devagar, e digita linhas para ele",
  },

  datagram: (from, size, preview) => `${from} enviou ${plural(size, "byte", "bytes")}: ${preview}`,
  datagramLoop: (from) =>
    `datagrama de ${from} recusado: ecoá-lo poderia criar um laço sem fim (a porta é a do próprio servidor ou a de um serviço que responde a tudo, ou ele devolve nosso eco na hora, sem parar)`,
  datagramLoopMore: (n) =>
    `mais ${plural(n, "datagrama recusado", "datagramas recusados")} no último segundo que poderiam criar um laço sem fim`,
  udpSummary: (datagrams, bytes, dropped, unreachable, refused, secs) =>
    `parado: ${plural(datagrams, "datagrama", "datagramas")}, ${plural(bytes, "byte ecoado", "bytes ecoados")}, ${plural(dropped, "descartado", "descartados")} (fila cheia), ${number.format(unreachable)} para remetentes que já saíram (porta inalcançável)${refused > 0 ? `, ${plural(refused, "recusado", "recusados")} (laço de eco)` : ""}, no ar por ${seconds.format(secs)} s`,
  unixInUse: (path) =>
    `erro: já há um servidor respondendo em ${path}; pare-o antes ou escolha outro caminho em --unix`,
  unixNotSocket: (path) =>
    `erro: ${path} existe e não é um socket: ele não será substituído (escolha outro caminho em --unix)`,
  unixNoDirectory: (path) =>
    `erro: não foi possível criar o socket ${path}: a pasta não existe (ou não é uma pasta)`,
  unixDenied: (path) =>
    `erro: não foi possível criar o socket ${path}: sem permissão de escrita na pasta`,
  unixPeer: "um processo local",
  live: {
    title: "servidor de eco, ao vivo",
    connecting: "conectando…",
    live: "ao vivo: atualiza conforme acontece (no máximo dez vezes por segundo)",
    lost: "o servidor sumiu; tentando de novo…",
    open: "abertas agora",
    total: "conexões",
    received: "bytes recebidos",
    echoed: "bytes ecoados",
    rate: "bytes recebidos por segundo, último minuto",
    peak: "pico de {n} bytes/s",
    noEvents: "(nenhum desde que esta página abriu)",
    connections: "conexões abertas",
    peer: "de",
    state: "estado",
    in: "bytes que entraram",
    out: "bytes que saíram",
    age: "duração",
    events: "últimos eventos (como o --trace mostra)",
    more: "e mais {n}",
    states: {
      echoing: "ecoando",
      paused: "pausada",
      "half-closed": "parcialmente fechada",
      waiting: "esperando a vez",
    },
  },
  hexIn: (id, size) =>
    `#${id} < ${size === 1 ? "recebido" : "recebidos"} ${plural(size, "byte", "bytes")}`,
  hexOut: (id, size) =>
    `#${id} > ${size === 1 ? "enviado" : "enviados"} ${plural(size, "byte", "bytes")}`,
  hexNotShown: (n) => `… e mais ${plural(n, "byte", "bytes")}, não mostrados`,
  viaProxy: (id, client, balancer, version) =>
    `#${id} nova conexão de ${client} via ${balancer} (PROXY v${version})`,
  proxyLocal: (id, balancer, version) =>
    `#${id} nova conexão de ${balancer}: verificação do próprio balanceador (PROXY v${version} LOCAL)`,
  proxyUnknown: (id, balancer, version) =>
    `#${id} nova conexão via ${balancer}, sem o endereço do cliente (PROXY v${version} UNKNOWN)`,
  proxyRefused: (id, peer, problem) =>
    `#${id} de ${peer} fechada: sem cabeçalho PROXY válido (${problem}); nada foi ecoado`,
  proxyRefusedMore: (n, problem) =>
    `mais ${plural(n, "conexão fechada", "conexões fechadas")} no último segundo: sem cabeçalho PROXY válido (${problem})`,
  untrustedRefused: (id, peer) =>
    `#${id} de ${peer} fechada: não é uma origem em que o --proxy-from confia; nada foi ecoado`,
  untrustedMore: (n) =>
    `mais ${plural(n, "conexão fechada", "conexões fechadas")} no último segundo vindas de origens em que o --proxy-from não confia`,
  proxyProblem: {
    signature: "os primeiros bytes não são um cabeçalho PROXY",
    v1TooLong: "um cabeçalho v1 com mais de 107 bytes",
    v1Malformed: "um cabeçalho v1 malformado",
    v2Version: "uma versão v2 desconhecida",
    v2Command: "um comando v2 desconhecido",
    v2TooLong: "um cabeçalho v2 maior que o limite",
    v2Malformed: "um cabeçalho v2 malformado",
    v2Family: "uma família de endereços v2 desconhecida",
    timeout: "nenhum cabeçalho em 3 s",
    incomplete: "a conexão terminou antes de o cabeçalho estar completo",
  },
  tellingBalancer: (secs) =>
    `parando: o /readyz agora responde 503; aceitando conexões novas por mais ${seconds.format(secs)} s (--stop-delay)`,
  drainTimedOut: (n, secs) =>
    `fechando ${plural(n, "conexão ainda aberta", "conexões ainda abertas")} ${seconds.format(secs)} s depois da parada (--drain-timeout)`,
  httpListening: (address, live) =>
    `saúde e métricas em http://${address}/ (/healthz, /readyz, /metrics${live ? "; a página ao vivo em /" : ""})`,
  unresolved: (host) => `não foi possível resolver o host "${host}"`,
  httpFailed: (address, reason) =>
    `erro: não foi possível servir saúde e métricas em ${address}: ${reason}`,
  httpFull: (max, n) =>
    `aviso: a porta de saúde e métricas está com ${plural(max, "conexão aberta", "conexões abertas")}, o limite: ${plural(n, "nova recebeu", "novas receberam")} 503 (as verificações de saúde podem falhar enquanto isso durar; o eco não é afetado)`,
  httpEvicted: (max, n) =>
    `aviso: a porta de saúde e métricas está com ${plural(max, "conexão aberta", "conexões abertas")}, o limite: ${n === 1 ? "fechou a mais antiga" : `fechou as ${n} mais antigas`} que ainda mandavam o pedido ou já tinham resposta, para dar lugar ${n === 1 ? "a uma nova" : "às novas"} (clientes lentos ou calados, talvez um ataque; o eco não é afetado)`,
  httpPortInUse: (address) =>
    `erro: não foi possível servir saúde e métricas em ${address}: a porta já está em uso; há outro servidor rodando? Escolha outra com --http-port (ou --http-port 0 para qualquer uma livre)`,
  // servidor
  serverIntro: "Servidor de eco, o lado passivo: devolve cada byte que recebe, sem alteração.",
  serverOutro: `O primeiro Ctrl-C, SIGTERM ou SIGHUP faz o servidor parar de aceitar conexões
e deixa as abertas terminarem o eco; o segundo (meio segundo depois ou mais: a
cópia que o shell repassa de um mesmo Ctrl-C não conta) fecha todas na hora.
Com --workers, fora de um terminal (um serviço), o SIGHUP recarrega: um a um,
cada processo dá lugar a um novo, que relê os arquivos TLS; o antigo acaba os
ecos abertos e sai. Código de saída: 0 terminou, 1 não conseguiu escutar, 2 erro
de uso, 70 erro interno; 75 parou, mas algum eco foi interrompido (--drain-idle,
--drain-timeout); 130, 143 ou 129: um novo Ctrl-C, SIGTERM ou SIGHUP fechou tudo
na hora.`,
  listening: (address, details) => `escutando em ${address} (${details})`,
  modeLabel: (mode) => `modo ${mode}`,
  shapedLabel: (flags) => `eco dificultado de propósito: ${flags}`,

  opened: (id, peer) => `#${id} nova conexão de ${peer}`,
  received: (id, size, preview) => `#${id} recebeu ${plural(size, "byte", "bytes")}: ${preview}`,
  closed: (id, echoed, secs, reason, undelivered = 0) =>
    `#${id} fechada: ${plural(echoed, "byte ecoado", "bytes ecoados")} em ${seconds.format(secs)} s` +
    (reason || undelivered
      ? ` (${[reason, undelivered && `${plural(undelivered, "byte de eco não entregue", "bytes de eco não entregues")}`].filter(Boolean).join("; ")})`
      : ""),
  clientNotTls: "o handshake TLS falhou: o cliente não fala TLS",
  unknownPeer: "um endereço desconhecido (o outro lado saiu logo ao conectar)",
  tlsHandshakeFailed: (reason) => `o handshake TLS falhou: ${reason}`,
  filesLimitLower: (limit, max) =>
    `aviso: este processo pode abrir só ${number.format(limit)} arquivos (ulimit -n): atende no máximo ${number.format(max)} conexões ao mesmo tempo (--max-connections); aumente o limite para atender mais`,
  connectionError: (id, reason) => `#${id} erro: ${reason}`,
  onceStopsListening: "modo once: não aceita mais conexões",
  onceByDefault:
    "aviso: o modo once (o padrão) encerra o servidor depois do primeiro cliente; para um serviço, use --mode concurrent",
  onceRefused: (id) => `#${id} recusada: o modo once atende um único cliente`,
  waiting: (id, ahead) => `#${id} esperando: ${plural(ahead, "cliente", "clientes")} na frente`,
  serving: (id) => `#${id} agora está sendo atendida`,
  goneWhileWaiting: (id) => `#${id} foi embora enquanto esperava a vez: não foi atendida`,
  stopping: (open) =>
    open === 1
      ? "parando: sem novas conexões; aguardando o término de 1 conexão aberta (outro Ctrl-C a fecha na hora)"
      : `parando: sem novas conexões; aguardando o término de ${number.format(open)} conexões abertas (outro Ctrl-C fecha todas na hora)`,
  stalled: (secs, signal) =>
    `na parada: sem tráfego por ${seconds.format(secs)} s depois ${signal === "SIGINT" ? "do Ctrl-C" : signal ? `do ${signal}` : "dela"}; ajuste com --drain-idle`,
  notServed: "nunca atendida: o servidor parou antes da sua vez",
  cutAtDrainTimeout: (secs) =>
    `--drain-timeout: ainda aberta ${seconds.format(secs)} s depois do sinal de parada`,
  cutByForce: "interrompida na hora por um segundo sinal de parada",
  drainCut: (n) =>
    `a parada interrompeu ${plural(n, "conexão", "conexões")} antes do fim (código de saída 75)`,
  forced: (open) => `fechando ${plural(open, "conexão", "conexões")} agora`,
  summary: (connections, echoed, secs) =>
    `parado: ${plural(connections, "conexão", "conexões")}, ${plural(echoed, "byte ecoado", "bytes ecoados")}, no ar por ${seconds.format(secs)} s`,
  portInUse: (address, port) =>
    `erro: ${address} já está em uso; há outro servidor rodando? Escolha outra porta com --port (por exemplo --port ${port + 1}, ou --port 0 para qualquer uma livre), e dê a mesma --port ao cliente`,
  permissionDenied: (address) =>
    `erro: permissão negada para escutar em ${address}; portas abaixo de 1024 exigem privilégios; use --port 1024 ou acima`,
  addressNotAvailable: (host) =>
    `erro: não é possível escutar em ${host}: não é um endereço desta máquina (tente 127.0.0.1, ::1 ou 0.0.0.0)`,
  hostNotFound: (host) => `erro: não foi possível resolver o host "${host}"`,
  listenFailed: (address, reason) => `erro: não é possível escutar em ${address}: ${reason}`,
  resetByPeer: "conexão interrompida pelo outro lado (reset)",
  limitReached: (max) =>
    `aviso: ${plural(max, "conexão aberta", "conexões abertas")}, o limite (--max-connections): as novas serão fechadas`,
  limitRefused: (n, max) =>
    `aviso: mais ${plural(n, "conexão nova fechada", "conexões novas fechadas")} no último segundo (limite ${number.format(max)})`,
  idleClosed: (secs) => `tempo de inatividade esgotado: sem tráfego por ${seconds.format(secs)} s`,
  tlsKeyMismatch: "a chave não pertence ao certificado",
  closedAfter: (bytes) =>
    `--close-after: ${plural(bytes, "byte ecoado", "bytes ecoados")}, conexão fechada (FIN)`,
  resetAfter: (bytes) =>
    `--reset-after: ${plural(bytes, "byte ecoado", "bytes ecoados")}, conexão derrubada (RST)`,
  connectionLost: "conexão perdida: o outro lado sumiu (reset ou fechamento)",
  brokenPipe: "o outro lado parou de ler (broken pipe)",
  tlsFileKind: { certificate: "certificado", key: "chave", ca: "certificado de CA" },
  tlsFile: {
    unreadable: (what, path, reason) =>
      `erro: não foi possível ler o arquivo TLS "${path}" (${what}): ${reason}`,
    notRegular: (what, path, _reason) =>
      `erro: o arquivo TLS "${path}" (${what}) não é um arquivo comum`,
    tooLarge: (what, path, _reason) =>
      `erro: o arquivo TLS "${path}" (${what}) tem mais de 1 MiB: não é um arquivo PEM`,
    notPem: (what, path, _reason) =>
      `erro: o arquivo TLS "${path}" (${what}) não está no formato PEM (-----BEGIN ...)`,
    wrongKind: (what, path, _reason) =>
      `erro: o arquivo TLS "${path}" não contém ${what === "chave" ? "uma chave" : "um " + what} (o certificado e a chave estão trocados?)`,
  },
  tlsInvalid: (reason) => `erro: o par certificado e chave TLS não foi aceito: ${reason}`,
  workers: (n) => (n === 1 ? "1 processo" : `${n} processos`),
  workersNeedConcurrent: (mode) =>
    `--workers acima de 1 exige --mode concurrent: no modo ${mode} um só processo precisa ver todos os clientes`,
  noReusePort:
    "aviso: SO_REUSEPORT não está disponível aqui, então um só processo atende a porta: rodando 1 processo",
  workerDied: (k, pid, how) =>
    `aviso: o processo ${k} (pid ${pid}) terminou inesperadamente (${how}); reiniciando`,
  workerRestarted: (k, pid) => `o processo ${k} voltou a atender (pid ${pid})`,
  workerHung: (k, pid, secs) =>
    `aviso: o processo ${k} (pid ${pid}) não responde há ${seconds.format(secs)} s; encerrando-o`,
  workerFailing: (k) =>
    `erro: o processo ${k} sempre termina logo depois de iniciar; parando o servidor`,
  reloading: (n) =>
    `recarregando (SIGHUP): substituindo ${n === 1 ? "o processo" : `os ${n} processos`} um a um; cada novo lê de novo seus arquivos (--tls-cert, --tls-key) e o ambiente`,
  reloaded: (n) =>
    `recarregado: ${n === 1 ? "1 processo novo atende" : `${n} processos novos atendem`} (cada antigo sai quando suas conexões terminarem)`,
  reloadQueued:
    "já há uma recarga em andamento (ou os processos ainda estão iniciando): outra virá logo depois",
  reloadFailed: (k, replaced) =>
    `erro: recarga interrompida: o novo processo ${k} terminou antes de escutar (veja acima); o antigo continua atendendo${replaced > 0 ? `, assim como ${replaced === 1 ? "o já substituído" : `os ${replaced} já substituídos`}` : ""}`,
  portShared: (address) =>
    `erro: outro programa também está escutando em ${address} (entrou na porta enquanto os processos a ocupavam); parando e deixando a porta para ele`,
  exitedWith: (code, signal) => (signal ? `sinal ${signal}` : `código de saída ${code}`),
  internalError: (reason) =>
    `erro: falha interna: ${reason}; o servidor vai parar (código de saída 70)`,

  // cliente
  clientIntro: `Cliente de eco, o lado ativo: envia cada linha digitada e mostra o eco.
Digite fim (em maiúsculas ou minúsculas) ou tecle Ctrl-D para fechar a conexão
e sair; a palavra fim não é enviada.`,
  clientOutro: `Os ecos vão para a saída padrão, um por linha; o prompt e as linhas de estado
vão para a saída de erro.
Código de saída: 0 saiu com fim ou quando a entrada acabou (Ctrl-D), todo eco
exato; 1 erro de conexão, eco perdido, um eco diferente do enviado ou bytes que
não são eco de nenhuma mensagem; 2 erro de uso; 130 Ctrl-C.`,
  connected: (address) =>
    `conectado a ${address}; digite uma mensagem, ou fim (ou Ctrl-D) para sair`,
  connectedTls: (address) =>
    `conectado a ${address} com TLS; digite uma mensagem, ou fim (ou Ctrl-D) para sair`,
  insecureWarning:
    "aviso: --insecure: o certificado do servidor NÃO é verificado; qualquer um no caminho pode ler e alterar esta conversa",
  tlsRejected: (address, reason) =>
    `erro: o certificado TLS de ${address} não foi aceito: ${reason} (veja --tls-ca, ou --insecure para testes)`,
  prompt: "> ",
  bye: "conexão encerrada",
  echoDiffers: (sent) =>
    `aviso: o eco difere do${sent === 1 ? "" : "s"} ${plural(sent, "byte enviado", "bytes enviados")}`,
  unexpectedBytes: (n) =>
    `aviso: o servidor enviou ${plural(n, "byte que não é", "bytes que não são")} eco de nenhuma mensagem`,
  refused: (address) =>
    `erro: conexão recusada por ${address}: nenhum servidor está escutando nesse endereço. Inicie um (bun run server) ou confira --host e --port; um servidor no modo once para de escutar assim que seu único cliente se conecta`,
  unknownHost: (host) =>
    `erro: host desconhecido "${host}": confira o nome, ou use um endereço IP (--host 127.0.0.1 para esta máquina)`,
  connectFailed: (address, reason) => `erro: não foi possível conectar a ${address}: ${reason}`,
  echoTimeout: (secs) =>
    `erro: nenhum eco do servidor em ${seconds.format(secs)} s; desistindo (veja --timeout)`,
  serverClosed: "erro: o servidor fechou a conexão",
  serverClosedOwed: (owed) =>
    `erro: o servidor fechou a conexão; ${owed === 1 ? "1 byte do eco nunca chegou" : `${number.format(owed)} bytes do eco nunca chegaram`}`,
  serverClosedIdle: (secs) =>
    `erro: o servidor fechou a conexão depois de ${seconds.format(secs)} s sem tráfego (ele pode ter parado, ou ter um limite de inatividade); inicie o cliente de novo`,
  serverClosedAtOnce:
    "erro: o servidor fechou a conexão imediatamente (um servidor no modo once atende um único cliente; um que chegou ao seu --max-connections não aceita mais)",
  notTls: (address) =>
    `erro: ${address} não usa TLS (é um servidor de eco TCP comum? então rode sem --tls)`,
  handshakeTimeout: (secs) =>
    `erro: o servidor não completou o handshake TLS em ${seconds.format(secs)} s; desistindo (veja --timeout)`,
  stoppedWaiting: (secs) =>
    `espera interrompida (Ctrl-C): nenhum eco chegou em ${seconds.format(secs)} s (um servidor que atende um cliente por vez, como nos modos once e sequential, pode estar ocupado com outro)`,
  stillWaiting: (secs) =>
    `ainda sem eco após ${seconds.format(secs)} s; a espera continua (o mais provável é que o servidor atenda um cliente por vez, como nos modos once e sequential, e esteja ocupado com outro; Ctrl-C sai; um servidor TLS exige --tls)`,
  partialEcho: (got, sent, preview) =>
    `só ${number.format(got)} dos ${plural(sent, "byte enviado", "bytes enviados")} ${got === 1 ? "voltou" : "voltaram"} até agora: ${preview}; esperando o resto (o servidor perdeu ou alterou algum? Ctrl-C sai)`,
  traceEchoComplete: (n) => `${plural(n, "byte", "bytes")}, completo`,
  traceHandshakeFailed: (why) => `falhou: ${why}`,
  traceBufferFull: "recusado (buffer cheio)",
  hexSent: (size) => `${size === 1 ? "enviado" : "enviados"} ${plural(size, "byte", "bytes")}:`,
  hexReceived: (size) =>
    `${size === 1 ? "recebido" : "recebidos"} ${plural(size, "byte", "bytes")}:`,
  inputFailed: (reason) => `erro: não foi possível ler a entrada padrão (${reason})`,
  strayFlood: (n) =>
    `aviso: ao todo, o servidor enviou ${plural(n, "byte que não é", "bytes que não são")} eco de nenhuma mensagem`,
  outputFailed: (reason) => `erro: não foi possível escrever o eco na saída padrão (${reason})`,
  serverReset: "erro: o servidor interrompeu a conexão (reset)",
  serverResetOwed: (owed) =>
    `erro: o servidor interrompeu a conexão (reset); ${owed === 1 ? "1 byte do eco nunca chegou" : `${number.format(owed)} bytes do eco nunca chegaram`}`,
  serverResetUnheard: (owed) =>
    `erro: o servidor interrompeu a conexão (reset) sem nunca ter enviado um byte (${plural(owed, "byte", "bytes")} de eco pendentes): o mais provável é que ele nunca tenha aceitado esta conexão (ocupado com outro cliente) e tenha terminado, e o sistema interrompeu as que ainda esperavam`,
  connectedUdp: (address) =>
    `enviando datagramas UDP para ${address}; digite uma mensagem, ou fim (ou Ctrl-D) para sair`,
  udpUnreachable: (address) =>
    `erro: ninguém está escutando em UDP ${address} (a máquina respondeu "porta inalcançável")`,
  udpNoEcho: (tries, address) =>
    `erro: nenhum eco de ${address} após ${plural(tries, "tentativa", "tentativas")}; o UDP pode perder datagramas, ou não há servidor nesse endereço (veja --retries)`,
  terminalLineCut: (max) =>
    `aviso: esta linha tem ${number.format(max)} bytes, o máximo que o terminal guarda de uma linha: o que foi digitado ou colado além disso foi cortado antes de chegar ao cliente. Para enviar linhas maiores, use um pipe: cat arquivo.txt | bun run client`,
  lineTooLong: (size, max) =>
    `erro: esta linha tem ${number.format(size)} bytes com a quebra de linha; um datagrama UDP leva no máximo ${number.format(max)}`,
  unixRefused: (path) =>
    `erro: nada responde em ${path}: não é um socket, ou é um que um servidor deixou para trás (inicie o servidor: bun run server --unix ${path})`,
  unixMissing: (path) =>
    `erro: não há socket em ${path}; inicie o servidor antes (bun run server --unix ${path})`,

  // bun run build
  buildSums: (n) => plural(n, "arquivo", "arquivos"),
  buildDone: (files, mib, dir) =>
    `${plural(files, "arquivo gravado", "arquivos gravados")} em ${dir} (${seconds.format(mib)} MiB no total)`,

  // probe
  probeIntro: `Verifica qualquer servidor de eco: envia o que um corretor enviaria (uma linha
curta, uma mensagem em pedaços, os 256 valores de byte, 10 MB rápido e devagar,
um fechamento parcial...) e mostra uma linha por verificação, com o que foi
enviado, o que voltou e, numa falha, a causa provável e o que fazer.`,
  probeOutro: `Código de saída: 0 todas as verificações passaram, 1 alguma falhou (ou nenhum
servidor respondeu), 2 erro de uso.`,
  probeStart: (address, mode, secs) =>
    `verificando ${address}, que deve seguir o modo ${mode} (limite de ${seconds.format(secs)} s por espera)`,
  probeClientStart: (command, address) =>
    `verificando o cliente ${command} com um servidor de eco próprio em ${address}: as linhas curtas voltam um byte por vez, a cada 10 ms`,
  probeClient: {
    check: {
      echoes: "cada eco impresso uma vez, inteiro",
      typed: "envia só o que foi digitado",
      slowServer: "acompanha um servidor lento",
      fim: "fim encerra o cliente",
      closes: "fecha a conexão",
      exit: "código de saída 0",
    },
    typedLines: (n) => `${plural(n, "linha", "linhas")} na entrada padrão`,
    nothing: "nada",
    allWhole: "cada uma inteira, uma vez, em ordem",
    everyEchoBack: "embora todos os ecos tenham voltado",
    sentOther: "e o que ele enviou não foi só as linhas digitadas (veja a próxima verificação)",
    echoUnread: (n) =>
      `e ele não leu todo o eco: ${plural(n, "byte", "bytes")} dele ainda não tinham voltado quando a conexão terminou`,
    exactly: "exatamente isso",
    slowEcho: "cada eco um byte por vez, a cada 10 ms",
    allSent: (n) => `as ${n} linhas enviadas`,
    sentOf: (n, total) => `${n} de ${total} linhas enviadas`,
    notTyped: "não digitado",
    notAllSent: "as linhas anteriores não foram todas enviadas",
    exitedBeforeFim: "o cliente já tinha terminado antes de fim ser digitado",
    fimNeverTyped: "fim não chegou a ser digitado",
    noFim: (n, total) => `${n} de ${total} linhas digitadas; fim não foi digitado`,
    crashedEarly: (code) =>
      `o cliente tinha terminado com erro (código de saída ${code}) antes de fim ser digitado`,
    waitedForEnd: "ele estava esperando a conexão terminar: veja acima",
    endedOnOurReset: (code, max) =>
      `o cliente terminou (código de saída ${code}) depois que o servidor da sonda resetou as conexões além das ${max} primeiras: não avaliado`,
    outputCut: (printed, line) =>
      `ele imprimiu ${plural(printed, "byte", "bytes")} na saída padrão, e a sonda guarda só o primeiro MiB: o eco de ${line} não está nele, então isto não dá para avaliar`,
    seeFailuresAbove: "veja as falhas acima",
    endedUnconnectedEarlier: "o cliente terminou antes de se conectar: veja acima",
    fileNotFound: (folder) =>
      `a sonda roda o seu comando em ${folder}, então um caminho relativo é procurado ali: dê o caminho completo do seu programa (python3 ~/lab1/cliente.py {port})`,
    beforeFirstLine: "antes de a primeira linha ser digitada",
    afterLine: (line) => `depois que ${line} foi digitada`,
    whileEcho: (line) => `enquanto o eco de ${line} voltava, antes de imprimi-lo`,
    exitedOnFim: "o cliente terminou",
    exitedOnEof: "ele continuou; só terminou quando a entrada acabou (EOF, como um Ctrl-D)",
    stillRunning: "ainda rodando: parado pela sonda",
    afterFim: "fim",
    finSeen: "um FIN",
    finOnEach: (n) => `um FIN em cada uma das suas ${n} conexões`,
    connectionOf: (i, n) => ` na sua conexão ${i} de ${n}`,
    resetSeen: "um reset (RST)",
    noFin: "nenhum FIN",
    status: (code) => `código de saída ${code}`,
    killed: "parado pela sonda",
    leftRunning: (n) =>
      `${plural(n, "processo iniciado por ele", "processos iniciados por ele")} ainda rodando`,
    cause: {
      nothingPrinted: (how) => `seu cliente não imprimiu nada na saída padrão, ${how}`,
      waitsForEnd: (line) =>
        `seu cliente só imprimiu o eco de ${line} quando o servidor da sonda fechou a conexão: ele lê até recv() devolver 0 bytes, o que só acontece no fim da conexão, então nenhum eco é impresso enquanto a conversa continua`,
      firstRecv: (line, pieces) =>
        `seu cliente imprimiu depois do primeiro recv(); continue lendo até que todos os bytes que você enviou tenham voltado (o eco de ${line} veio em ${pieces} pedaços, a cada 10 ms, e não foi impresso inteiro)`,
      bigCut: () =>
        "a linha de 10 KB não foi impressa inteira: seu cliente lê um número fixo de bytes (um recv(1024), por exemplo), não tudo o que enviou",
      twice: (line) => `o eco de ${line} foi impresso mais de uma vez`,
      printedTyped: (line) =>
        `seu cliente imprimiu ${line} antes de o eco voltar: imprimiu o que foi digitado, não o que o servidor mandou`,
      reconnects: (n, served) =>
        `ele abriu ${n} conexões: o servidor do laboratório no modo once só atende a primeira (${served < n ? `o servidor da sonda atendeu as ${served} primeiras; as outras foram resetadas` : "o servidor da sonda atendeu todas, para avaliar o resto"})`,
      extra: (came, typed) =>
        `ele enviou ${came} onde foi digitado ${typed}: um prompt ou uma quebra de linha a mais (ou \\r\\n) enviados ao servidor voltam no eco`,
      latin1: (line, bytes) =>
        `ele enviou ${line} em Latin-1 (cp1252, o padrão do Windows), não em UTF-8: ${bytes}; uma letra acentuada (ç, ã) ocupa um byte em Latin-1 e dois em UTF-8`,
      nfd: (line, letter, parts) =>
        `ele enviou ${line} decomposta (normalização Unicode NFD): igual na tela, mas não nos bytes; ${letter} foi como ${parts}`,
      sentFim: () => "ele enviou fim ao servidor",
      emptyLine: () =>
        "depois da linha vazia ele não enviou mais nada: enviou 0 bytes e ficou esperando o eco deles, que nunca vem (o eco de nada é nada)",
      stuck: (line) =>
        `ele não enviou a linha seguinte (${line}) dentro do tempo limite, como se ainda esperasse o eco anterior`,
      neverConnected: (address) =>
        `ele nunca se conectou ao servidor da sonda (${address}): nada do que foi digitado chegou lá`,
      endedUnconnected: (code, last) =>
        `seu cliente terminou (código de saída ${code}) sem nunca ter se conectado ao servidor da sonda${last ? `; ele escreveu no stderr: ${last}` : ""}`,
      crashed: (code, when, last) =>
        `seu cliente terminou com erro (código de saída ${code}) ${when}${last ? `; ele escreveu no stderr: ${last}` : ""}`,
      crashedDecoding: (code, when, last) =>
        `seu cliente terminou com erro (código de saída ${code}) ${when}${last ? `; ele escreveu no stderr: ${last}` : ""}`,
      exitedEarly: (code, last) =>
        `o cliente terminou (código ${code}) antes de todas as linhas serem digitadas${last ? `: ${last}` : ""}`,
      onlyEof: () =>
        "fim não o encerrou: ele continuou lendo a entrada e só saiu quando ela acabou (EOF)",
      neverExits: () => "depois de fim ele fechou a conexão mas não terminou; a sonda o parou",
      neverCloses: () => "depois de fim ele não fechou a conexão nem terminou; a sonda o parou",
      reset: () =>
        "a conexão terminou com um reset (RST), não com um FIN: fechada com eco ainda não lido, ou o processo foi morto",
      noFin: () =>
        "ele nunca fechou a conexão por conta própria: ela só fechou quando a sonda parou o cliente",
      killed: () => "ele não terminou sozinho: a sonda o parou, com tudo o que ele tinha iniciado",
      leftRunning: (n, pids, secs) =>
        `a sonda não conseguiu terminar ${plural(n, "processo iniciado", "processos iniciados")} pelo seu cliente (PID ${pids}) em ${secs} s congelando e matando (um processo que se bifurca e termina sem parar muda de PID a cada vez): ${n === 1 ? "ele pode" : "eles podem"} ainda estar rodando`,
      exitCode: (code, last) => `o cliente terminou com o código ${code}${last ? `: ${last}` : ""}`,
    },
    advice: {
      nothingPrinted:
        "imprima cada eco na saída padrão (print, console.log, printf) depois que ele voltar inteiro",
      waitsForEnd:
        'depois de enviar uma linha, chame recv() até ter tantos bytes quantos você enviou, imprima-os e leia a próxima linha; recv() só devolve b"" (0 bytes) depois que o servidor fechou',
      firstRecv:
        'chame recv() num laço até ter tantos bytes quantos você enviou (conte bytes, não caracteres) e então imprima o eco uma vez; se recv() devolver b"" (nada), o servidor fechou: pare, não fique no laço para sempre',
      bigCut:
        "chame recv() num laço até o eco ter o tamanho do que você enviou: um recv() devolve no máximo o tamanho pedido, muitas vezes menos",
      twice:
        "imprima cada eco uma vez, depois que ele voltar inteiro (não cada pedaço e depois o todo)",
      printedTyped:
        "imprima os bytes que recv() devolveu, quando todos os bytes que você enviou tiverem voltado: é o eco que o laboratório verifica",
      reconnects:
        "conecte-se uma vez, antes de ler a primeira linha, e envie todas as linhas por essa conexão",
      extra:
        "envie exatamente a linha digitada (com a quebra de linha, ou sem); mostre prompts na tela sem enviá-los",
      latin1:
        'codifique sempre em UTF-8: linha.encode("utf-8") em Python (no Windows o padrão é cp1252), getBytes(StandardCharsets.UTF_8) em Java; decodifique o eco em UTF-8 também',
      nfd: 'envie a linha como foi lida, sem normalizar; se for normalizar, use NFC (unicodedata.normalize("NFC", linha) em Python), que é como o teclado digita',
      sentFim: "compare a linha com fim antes de enviá-la, e saia sem enviá-la",
      emptyLine:
        "pule linhas vazias (não espere o eco de nada), ou envie cada linha com a sua quebra de linha",
      stuck:
        "quando o eco inteiro voltar, imprima-o e leia a próxima linha; rode-o à mão para ver onde ele espera",
      neverConnected:
        "conecte-se à porta dada: ponha {port} no comando (python3 cliente.py {port}) ou leia ECHO_PORT",
      endedUnconnected:
        "rode o seu comando à mão (com uma porta sua no lugar de {port}, e um servidor escutando nela) e leia o erro",
      crashed:
        "essa linha do stderr diz qual foi o erro, e o traceback acima dela mostra em que ponto do seu código: rode o cliente à mão, digite as mesmas linhas e leia a mensagem inteira",
      crashedDecoding:
        "decodifique o eco só depois que ele voltar inteiro: um recv() pode parar no meio de um caractere (ç e ã ocupam 2 bytes em UTF-8), e meio caractere não se decodifica; junte os bytes primeiro (recebido += pedaco) e depois faça recebido.decode()",
      exitedEarly: "leia o erro acima; rode seu cliente à mão com as mesmas linhas",
      onlyEof:
        'ao ler fim, feche o socket e saia do laço: compare a linha sem a quebra de linha (linha.strip() == "fim")',
      neverExits:
        "depois de fechar, termine o programa: nada deve mantê-lo rodando (uma thread, outro laço, um sleep)",
      neverCloses: "ao ler fim, feche o socket (close()) e termine o programa",
      reset: "feche só depois de ler todo o eco; não ponha SO_LINGER em 0",
      noFin:
        "feche o socket quando o usuário digitar fim (close(), ou shutdown() e depois close())",
      killed: "depois de fim, feche a conexão e retorne; veja as falhas acima",
      leftRunning:
        "termine o que o seu cliente inicia antes de ele sair (join nas threads, espere os processos) e confira com ps que nada dele ficou rodando",
      exitCode: "termine com código 0 depois de fim (uma exceção não tratada ou exit(1) dão outro)",
    },
  },
  probeCheck: {
    shortLine: "uma linha curta",
    pieces: "uma mensagem em 3 pedaços",
    together: "3 mensagens numa escrita",
    allBytes: "os 256 valores de byte",
    bulk: "10 MB, lendo enquanto envia",
    slowRead: "10 MB lidos devagar",
    halfClose: "fechamento parcial após 1 MB",
    closesAfter: "fecha depois do cliente",
    once: "modo once: recusa o próximo",
    sequential: "modo sequential: um por vez",
    concurrent: "modo concurrent: dois juntos",
  },
  probeSkip: "PULADA",
  probeNoServer: (address) =>
    `erro: nada está escutando em ${address}: inicie o seu servidor de eco antes, ou confira --host e --port`,
  probeSpeaksTls: (address) =>
    `erro: ${address} usa TLS (responde a um handshake TLS, não a texto puro): acrescente --tls, com --tls-ca ARQUIVO ou --insecure para um certificado autoassinado`,
  probeNotTls: (address) =>
    `erro: ${address} não usa TLS (não respondeu ao handshake como TLS): tire o --tls`,
  probePass: "OK    ",
  probeFail: "FALHA ",
  probeWhy: "por quê:",
  probeWhat: "o que fazer:",
  probeLine: (sent, got) => `enviado: ${sent}; resposta: ${got}`,
  probeLatency: (ms, n) =>
    `latência: ${ms.toFixed(2).replace(".", ",")} ms por ida e volta (mediana de ${n}), só para informação`,
  probeThroughput: (mbs) =>
    `vazão: ${number.format(Math.round(mbs))} MB/s de eco (10 MB, lendo enquanto envia), só para informação`,
  probeSendall:
    "se o seu servidor chama send(), sendall() é a escolha portável: o send() pode aceitar só parte dos bytes (a sonda não consegue ver qual dos dois você usa)",
  probeSummary: (passed, total) =>
    `${number.format(passed)} de ${plural(total, "verificação", "verificações")} ${passed === 1 ? "passou" : "passaram"}`,
  probeEnding: {
    complete: (_secs) => "",
    eof: (_secs) => ", e então o fim do fluxo",
    timeout: (secs) => `, e depois nada por ${seconds.format(secs)} s`,
  },
  probeSame: "o mesmo",
  probeNothing: (secs) => `nada em ${seconds.format(secs)} s`,
  probeNothingEof: "nada, e então o fim do fluxo",
  probeExact: (n) => `todos os ${plural(n, "byte", "bytes")}, exatos`,
  probeOf: (got, sent) => `${number.format(got)} de ${plural(sent, "byte", "bytes")}`,
  probeDiffersAt: (at) => ` (diferente a partir do byte ${number.format(at)})`,
  probePieces: (pieces, gap) => `${pieces}, com ${gap} ms entre eles`,
  probeAllBytes: (n) => `bytes de 0 a 255, UTF-8 inválido e uma quebra de linha (${n} bytes)`,
  probeBytes: (n) => plural(n, "byte", "bytes"),
  probeSlow: (n, pause) =>
    `${plural(n, "byte", "bytes")}, lendo com uma pausa de ${pause} ms a cada 256 KiB`,
  probeHalfClose: (n) => `${plural(n, "byte", "bytes")} e depois fechamento parcial (FIN)`,
  probeFin: "FIN (o cliente saiu)",
  probeEof: "o fim do fluxo",
  probeNoEof: (secs) => `a conexão ainda aberta após ${seconds.format(secs)} s`,
  probeConnect: "uma nova conexão",
  probeNothingSent: "nada (a conexão já tinha terminado)",
  probeRefused: "recusada",
  probeServedAgain: "aceita e com eco",
  probeNeverServed:
    "conectada (a fila do listen() no kernel completa o handshake), sem eco, depois fechada",
  probeQueuedOpen: (secs) =>
    `conectada (a fila do listen() no kernel), sem eco, e ainda aberta após ${seconds.format(secs)} s`,
  probeTwoClients: "duas conexões",
  probeFirstNoEcho: (secs) => `nenhum eco para o primeiro cliente em ${seconds.format(secs)} s`,
  probeSecondRefused: "a segunda recusada ou fechada",
  probeSecondEarly: "eco para o segundo enquanto o primeiro estava conectado",
  probeSecondNever: (secs) =>
    `nenhum eco para o segundo em ${seconds.format(secs)} s depois que o primeiro saiu`,
  probeSecondAfter: "o segundo só teve eco depois que o primeiro saiu",
  probeSecondWaited: (secs) =>
    `nenhum eco para o segundo em ${seconds.format(secs)} s enquanto o primeiro estava conectado`,
  probeBothServed: "os dois com eco ao mesmo tempo",
  probeLostOnce: (check) =>
    `a conexão terminou durante "${check}", e o modo once atende uma única conexão`,
  probeLostOnceAfter: (check) =>
    `o servidor fechou a conexão depois de "${check}" (veja acima), e o modo once atende uma única conexão`,
  probeOnceByDefault:
    "; a sonda verificou o modo once porque ele é o padrão: para um servidor feito para atender mais clientes, use --expect sequential ou --expect concurrent",
  probeGone: "o servidor não está mais lá (uma nova conexão foi recusada)",
  probeHung: (check) => `o servidor parou de responder durante "${check}"`,
  probeFlooded: "o servidor enviou muito mais do que recebeu (mais de 32 MB): interrompido",
  probeOutOfTime: (secs) => `a verificação toda passou do limite de ${secs} s`,
  probeCause: {
    notRun: (reason) => `não verificada: ${reason}`,
    noEcho: (secs) =>
      `nada voltou em ${seconds.format(secs)} s: seu servidor não devolveu os bytes (ele espera encher um buffer, ou mais bytes do que foram enviados?)`,
    closed: (got, sent) =>
      `o servidor fechou a conexão depois de ecoar ${number.format(got)} de ${plural(sent, "byte", "bytes")} (ele fecha depois de um recv(), ou caiu? veja o terminal dele)`,
    reset: () =>
      "a conexão foi interrompida (reset): o servidor caiu, ou fechou o socket com bytes ainda não lidos",
    upper: () => "as letras voltaram em maiúsculas: seu servidor altera os dados",
    lost: (got, sent, secs) =>
      `só ${number.format(got)} de ${plural(sent, "byte", "bytes")} voltaram, e depois nada por ${seconds.format(secs)} s: o resto se perdeu`,
    extra: (n) =>
      `voltaram ${plural(n, "byte", "bytes")} a mais do que foi enviado: seu servidor acrescenta algo`,
    oneRecvLines: (missing) =>
      `só voltou a primeira linha de cada pedaço que o recv() devolveu (${missing === 1 ? "falta" : "faltam"} ${plural(missing, "byte", "bytes")}): seu servidor toma um recv() por uma mensagem`,
    fixedBuffer: (size, pieces, missing) =>
      `só voltaram os primeiros ${plural(size, "byte", "bytes")} de cada leitura (${number.format(pieces)} pedaços de ${number.format(size)}; ${missing === 1 ? "falta" : "faltam"} ${plural(missing, "byte", "bytes")}): um buffer fixo de ${number.format(size)} bytes corta o resto`,
    sendNoLoop: (missing, pieces) =>
      `${missing === 1 ? "falta" : "faltam"} ${plural(missing, "byte", "bytes")}, em buracos entre ${number.format(pieces)} pedaços: o send() aceitou só parte de cada buffer, e o resto foi descartado`,
    changed: (at) => `o eco difere do que foi enviado a partir do byte ${number.format(at)}`,
    speaksTls: () => "voltou um registro TLS no lugar do eco: este servidor usa TLS",
    stalled: (secs) =>
      `o servidor parou de ler: por ${seconds.format(secs)} s não aceitou mais nada do que a sonda enviava`,
    oneRecvPieces: () =>
      "a mensagem chegou em 3 pedaços e não voltaram os mesmos bytes: seu servidor toma cada recv() por uma mensagem inteira",
    oneRecvTogether: () =>
      "3 mensagens chegaram num só pedaço e nem todas voltaram: seu servidor toma um recv() por uma mensagem",
    decodeCrash: () =>
      "seu servidor decodifica o que recebe como texto, e provavelmente caiu nos bytes que não são UTF-8: o texto comum voltou, mas destes nada voltou antes de a conexão terminar (procure um UnicodeDecodeError no terminal dele)",
    textBytes: (at, before) =>
      `o eco sai errado no byte ${number.format(at)}${before ? `, logo depois de ${before}` : ""}: seu servidor trata os dados como texto (decodifica UTF-8, strip(), uma função de string que para em \\0 ou \\n)`,
    closeOnFin: (got, sent) =>
      `voltaram ${number.format(got)} de ${plural(sent, "byte", "bytes")} e então o fim do fluxo: seu servidor fechou assim que o cliente fechou o lado de envio (recv() devolveu 0), antes de terminar o eco`,
    keptOpen: (secs) =>
      `o cliente fechou o seu lado e, ${seconds.format(secs)} s depois, o servidor ainda não tinha fechado a conexão`,
    onceAccepted: () =>
      "um segundo cliente foi atendido depois do primeiro: um servidor no modo once atende um só",
    onceHeld: (secs) =>
      `um segundo cliente ficou esperando ${seconds.format(secs)} s depois que o primeiro saiu, sem ser atendido nem fechado: o socket de escuta continua aberto`,
    closedAfterOne: (check) =>
      `o servidor fechou a conexão logo depois de "${check}", quando o cliente ainda tinha o que enviar: ele fechou depois de um recv()`,
    firstRefused: () => "a conexão foi recusada: o servidor não está mais escutando",
    firstNoEcho: (secs) =>
      `um novo cliente não teve eco em ${seconds.format(secs)} s: seu servidor não atende um cliente que chega depois do primeiro`,
    secondRefused: () =>
      "um segundo cliente foi recusado ou fechado na hora enquanto o primeiro estava conectado",
    servedAtOnce: () =>
      "o segundo cliente teve eco enquanto o primeiro ainda estava conectado: seu servidor atende clientes ao mesmo tempo (isso é o modo concurrent)",
    nextNotServed: (secs) =>
      `o segundo cliente não teve eco em ${seconds.format(secs)} s depois que o primeiro saiu: seu servidor não passou para o próximo cliente`,
    oneAtATime: (secs) =>
      `o segundo cliente não teve eco em ${seconds.format(secs)} s enquanto o primeiro estava conectado: seu servidor atende um cliente por vez`,
  },
  probeAdvice: {
    notRun: "corrija primeiro a falha acima e rode a sonda de novo",
    noEcho: "devolva cada pedaço assim que o recv() o entregar, qualquer que seja o tamanho",
    closed:
      "continue ecoando até o recv() devolver 0 (o cliente fechou o lado dele); procure uma exceção na saída do servidor",
    reset: "procure uma exceção na saída do servidor; leia até o recv() devolver 0 antes de fechar",
    upper: "um eco devolve exatamente os bytes que recebeu, sem alteração",
    lost: "faça um laço: recv() e depois envie tudo (sendall() em Python), até o recv() devolver 0",
    extra:
      "devolva exatamente os bytes que o recv() entregou: não acrescente nada (nem quebra de linha, nem prefixo)",
    oneRecvLines:
      "TCP é um fluxo de bytes, não de mensagens: um recv() pode trazer parte de uma mensagem ou várias; ecoe todos os bytes",
    fixedBuffer:
      "devolva tantos bytes quanto o recv() retornou (o valor de retorno), não uma cópia de tamanho fixo",
    sendNoLoop:
      "o send() retorna quantos bytes aceitou: use sendall() (Python), ou chame send() de novo com o resto até enviar tudo",
    changed:
      "devolva exatamente os bytes que o recv() entregou: sem decodificar, sem strip(), sem acrescentar nada",
    speaksTls: "acrescente --tls",
    stalled:
      "leia e ecoe ao mesmo tempo: um servidor que para de ler enquanto o eco espera trava junto com o cliente",
    oneRecvPieces:
      "TCP é um fluxo de bytes, não de mensagens: ecoe cada byte assim que chegar, sem acrescentar nada a cada recv()",
    oneRecvTogether:
      "TCP é um fluxo de bytes, não de mensagens: um recv() pode devolver várias mensagens; ecoe tudo",
    decodeCrash:
      'devolva os bytes como vieram e decodifique só para imprimir: print(dados.decode(errors="replace"))',
    textBytes: "trabalhe com bytes: devolva o que o recv() entregou, como veio, sem decodificar",
    closeOnFin:
      "quando o recv() devolver 0, primeiro envie tudo o que ainda falta e só então feche",
    keptOpen: "quando o recv() devolve 0 o cliente terminou: feche a conexão",
    onceAccepted:
      "no modo once, feche o socket de escuta (ou termine) assim que o accept() entregar o primeiro cliente",
    onceHeld:
      "no modo once, feche o socket de escuta (ou termine) quando o primeiro cliente terminar",
    closedAfterOne:
      "repita até o recv() devolver 0 (o cliente fechou o lado dele): recv(), devolva tudo, recv() de novo; só então feche",
    firstRefused: "continue escutando enquanto o modo pedir (sequential e concurrent: sempre)",
    firstNoEcho:
      "depois que um cliente sai, volte ao accept() e atenda o próximo (um laço em volta do accept)",
    secondRefused:
      "mantenha o socket de escuta aberto: o próximo cliente espera na fila do listen()",
    servedAtOnce: "no modo sequential, atenda o próximo cliente só depois que o atual sair",
    nextNotServed:
      "depois que um cliente sai, volte ao accept() e atenda o próximo (um laço em volta do accept)",
    oneAtATime:
      "atenda cada cliente numa thread própria (ou processo, ou com select/asyncio), para que nenhum espere",
  },
};
