package lineage;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * Parses each line of stdin as the seed's JsonUtils.jsonToPojo does (a plain ObjectMapper, its
 * defaults: FAIL_ON_UNKNOWN_PROPERTIES on) into the class named by args[0] (ChatMsg, DataContent,
 * NettyServerNode) and prints one line per input: "OK <the object written back as JSON>" or
 * "ERR <exception>: <message>".
 */
public final class JacksonProbe {
    public static void main(String[] args) throws Exception {
        Class<?> type = Class.forName("lineage." + args[0]);
        ObjectMapper mapper = new ObjectMapper();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            System.out.println(parse(mapper, type, line));
        }
    }

    static String parse(ObjectMapper mapper, Class<?> type, String json) {
        try {
            return "OK " + mapper.writeValueAsString(mapper.readValue(json, type));
        } catch (Exception e) {
            String message = String.valueOf(e.getMessage()).split("\n")[0];
            return "ERR " + e.getClass().getSimpleName() + ": " + message;
        }
    }
}
